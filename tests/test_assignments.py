"""The coursework loop: nbgrader student versions score 0, masters full marks, nothing leaks."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import assignments


def _graded(cell, **fields):
    cell.metadata["nbgrader"] = {"schema_version": 3, "task": False, **fields}
    return cell


def _master(path):
    """A small master: one solution region and one test cell with a hidden part."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# 99 · Demo"),
            new_code_cell("quick = False\nseed = 0", metadata={"tags": ["parameters"]}),
            _graded(
                new_code_cell(
                    'def double(x):\n    """Return 2 x."""\n'
                    "    ### BEGIN SOLUTION\n    return x + x\n    ### END SOLUTION"
                ),
                grade=False,
                solution=True,
                locked=False,
                grade_id="double_solution",
            ),
            _graded(
                new_code_cell(
                    "assert double(1) == 2\n"
                    "### BEGIN HIDDEN TESTS\nassert double(21) == 42\n### END HIDDEN TESTS"
                ),
                grade=True,
                solution=False,
                locked=True,
                points=3,
                grade_id="double_tests",
            ),
        ],  # fmt: skip
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
@pytest.mark.notebook
def test_the_loop_on_a_small_master(tmp_path):
    master = _master(tmp_path / "99_demo.ipynb")
    released = assignments.generate(tmp_path / "course", [master])
    _, student = released["99_demo"]
    assert assignments.hidden_lines(master) == ["return x + x", "assert double(21) == 42"]
    assert assignments.leaked_lines(master, student) == []
    assert "raise NotImplementedError" in student.read_text()
    assert assignments.check(tmp_path / "course", released) == []


def test_a_quick_copy_changes_only_the_quick_parameter(tmp_path):
    master = _master(tmp_path / "99_demo.ipynb")
    copy = assignments.quick_copy(master, tmp_path / "quick" / "99_demo.ipynb")
    before, after = nbformat.read(master, 4), nbformat.read(copy, 4)
    changed = [
        (a.source, b.source) for a, b in zip(before.cells, after.cells, strict=True) if a != b
    ]
    assert len(changed) == 1 and "quick = False" in changed[0][0]
    assert changed[0][1].startswith("quick = True")


@pytest.mark.slow
@pytest.mark.notebook
def test_the_loop_reports_leaks_and_wrong_scores(tmp_path):
    master = _master(tmp_path / "99_demo.ipynb")
    assignments.generate(tmp_path / "course", [master])
    # A "student version" that still holds the solution: it leaks and scores full marks.
    problems = assignments.check(tmp_path / "course", {"99_demo": (master, master)})
    assert any("contains" in p for p in problems)
    assert any("expected 0 and full marks" in p for p in problems)


@pytest.mark.slow
@pytest.mark.notebook
def test_every_master_of_the_series_passes_the_loop(tmp_path):
    masters = assignments.masters()
    if not masters:
        pytest.skip("no notebook of the series has graded cells yet")
    released = assignments.generate(tmp_path, masters)
    # quick = True: the graded cells are the same, the training around them shorter.
    assert assignments.check(tmp_path, released, quick=True) == []


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
