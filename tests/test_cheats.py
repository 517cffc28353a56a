"""Hidden tests against answers that are right but only call the package's reference.

In a file of its own so that pytest-xdist (which hands out whole files) runs it beside the
grading loop of test_assignments.py.
"""

from __future__ import annotations

import nbformat
import pytest

from tools import assignments

# Answers that are right but only call the package's reference implementation. Each hidden test
# must fail them, and fail them because of forbid_calls (the answer's values are correct).
CHEATS = {
    "01_encoder": {
        "encoder_forward_solution": (
            "encoder_forward_tests",
            "import types\n"
            "from vae_tutorial.encoder import MLPEncoder as Reference\n"
            "as_module = types.SimpleNamespace(image_shape=tuple(x.shape[1:]),"
            " body=lambda t: hidden(t.flatten(1)), to_mu=to_mu, to_logvar=to_logvar)\n"
            "return Reference.forward(as_module, x)",
        )
    },
    "03_decoder": {
        "decoder_bernoulli_log_prob_solution": (
            "decoder_bernoulli_log_prob_tests",
            "from vae_tutorial.decoder import bernoulli_log_likelihood as reference\n"
            "return reference(x, logits)",
        )
    },
    "04_elbo": {
        "kl_to_standard_normal_solution": (
            "kl_to_standard_normal_tests",
            "import vae_tutorial\nreturn vae_tutorial.elbo.gaussian_kl(mu, logvar)",
        ),
        "elbo_solution": (
            "elbo_tests",
            "from vae_tutorial import elbo_terms\n"
            "return elbo_terms(model, x, generator=generator)['elbo']",
        ),
    },
    "05_training": {
        "active_units_solution": (
            "active_units_tests",
            "from vae_tutorial import active_units, unit_activity\n"
            "return unit_activity(mu), active_units(mu, threshold)",
        ),
    },
    "06_nonconvexity": {
        "ppca_solution": (
            "ppca_tests",
            "from vae_tutorial import ppca_fit\nreturn ppca_fit(x, latent_dim)",
        ),
    },
    "08_evaluation": {
        "iw_bound_solution": (
            "iw_bound_tests",
            "from vae_tutorial.evaluation import iw_log_likelihood as reference\n"
            "return reference(model, x, k, generator)",
        ),
    },
    "07_latent_space": {
        "sample_images_solution": (
            "sample_images_tests",
            "from vae_tutorial.vae import sample_prior\nreturn sample_prior(decoder, n, generator)",
        ),
        "my_slerp_solution": (
            "my_slerp_tests",
            "import vae_tutorial\nreturn vae_tutorial.slerp(z0, z1, t)",
        ),
    },
}


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(CHEATS))
def test_hidden_tests_fail_answers_that_call_the_package(name, tmp_path):
    master = assignments.NOTEBOOKS / f"{name}.ipynb"
    assert master.is_file(), f"{master.name} is missing: rename it in CHEATS too"
    assignments.generate(tmp_path, [master])
    cheat = assignments.quick_copy(master, tmp_path / "quick" / master.name)
    for i, (solution_id, (_, code)) in enumerate(CHEATS[name].items()):
        destination = tmp_path / "cheats" / str(i) / master.name
        cheat = assignments.replace_solution(cheat, solution_id, code, destination)
    assignments.autograde(tmp_path, name, {"cheater": cheat})
    scores = assignments.grades(tmp_path, name, "cheater")
    graded = nbformat.read(tmp_path / "autograded" / "cheater" / name / master.name, 4)
    for tests_id, _ in CHEATS[name].values():
        score, most = scores[tests_id]
        assert score == 0 < most, f"{tests_id} gave {score}/{most} to an answer calling the package"
        (cell,) = [
            c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == tests_id
        ]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert "reference implementation" in str(errors), f"{tests_id} failed for another reason"
