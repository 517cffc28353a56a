"""The coursework loop: nbgrader student versions score 0, masters full marks, nothing leaks."""

from __future__ import annotations

from pathlib import Path

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


@pytest.mark.slow
@pytest.mark.notebook
def test_the_loop_reports_leaks_and_wrong_scores(tmp_path):
    master = _master(tmp_path / "99_demo.ipynb")
    assignments.generate(tmp_path / "course", [master])
    # A "student version" that still holds the solution: it leaks and scores full marks.
    problems = assignments.check(tmp_path / "course", {"99_demo": (master, master)})
    assert any("contains" in p for p in problems)
    assert any("expected 0 and full marks" in p for p in problems)


def test_the_series_has_graded_notebooks():
    assert assignments.masters(), "no notebook of the series has graded cells"


# Answers that are right but only call the package's reference implementation: the referee must
# fail each (tests/test_attacks.py), as the kernel's hidden tests do with forbid_calls.
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
@pytest.mark.parametrize("master", assignments.masters(), ids=lambda path: path.stem)
def test_every_master_of_the_series_passes_the_loop(master, tmp_path):
    """The student version scores 0 and the master full marks, graded as a class would be (the
    grading kernel, then the referee), in a course and gradebook of its own."""
    name = master.stem
    released = assignments.generate(tmp_path, [master])
    _, student_version = released[name]
    assert assignments.leaked_lines(master, student_version) == []
    committed = assignments.STUDENT_EDITION / master.name
    expected = tmp_path / "expected" / master.name  # what make student-edition would commit
    assignments.student_edition({name: (master, student_version)}, expected.parent)
    assert committed.is_file() and assignments.same_cells(committed, expected), (
        f"student/{master.name} is not the master's student version: run make student-edition"
    )
    scores = assignments.autograde(tmp_path, name, {"student": student_version, "master": master})
    (student, _), (graded, full) = scores["student"], scores["master"]
    assert full > 0 and student == 0 and graded == full, scores


def _edited(notebook: Path, destination: Path, edit) -> Path:
    nb = nbformat.read(notebook, as_version=4)
    edit(nb)
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return destination


def _cell(nb, grade_id):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return cell


# The kernel's hidden tests fooled: the profiler that forbid_calls uses is switched off and
# torch.testing's comparison rebound, so a wrong z passes every test in the kernel.
FOOLS_THE_KERNEL = (
    "import sys\nsys.setprofile = lambda *args: None\n"
    "torch.testing.assert_close = lambda *args, **kwargs: None\n"
    "return 0 * (mu + logvar) + torch.zeros_like(eps)"
)
# Steals the master's solution from the course's source folder at grading time.
READS_THE_MASTER = (
    "import json, os, pathlib\n"
    "source = pathlib.Path(os.environ.get('VAE_GRADER_COURSE', '../../..')) / 'source'\n"
    "(master,) = source.glob('*/02_reparameterization.ipynb')\n"
    "cells = json.loads(master.read_text())['cells']\n"
    "(cell,) = [c for c in cells if 'def score_function_estimate' in ''.join(c['source'])]\n"
    "namespace = {}\nexec(''.join(cell['source']), namespace)\n"
    "return namespace['score_function_estimate'](x, mu, k)"
)


@pytest.mark.slow
@pytest.mark.notebook
def test_attacks_on_the_notebook_itself_earn_nothing(tmp_path):
    master = assignments.NOTEBOOKS / "02_reparameterization.ipynb"
    name = master.stem
    assignments.generate(tmp_path, [master])
    work = tmp_path / "work"

    # A: the kernel's tests fooled (sample_z); the score function's test cell rewritten to pass
    # and its points raised to 100, with a wrong answer
    replace = assignments.replace_solution
    a = replace(master, "sample_z_solution", FOOLS_THE_KERNEL, work / "a1.ipynb")
    a = replace(a, "score_function_solution", "return x * 0", work / "a2.ipynb")

    def rewrite_test(nb):
        cell = _cell(nb, "score_function_tests")
        cell.source, cell.metadata["nbgrader"]["points"] = "pass", 100

    a = _edited(a, work / "a.ipynb", rewrite_test)

    # B: the kernelspec changed to the unguarded python3 kernel, to read the master at grading
    # time (score function); sample_z's test cell deleted, with a wrong answer
    b = replace(master, "score_function_solution", READS_THE_MASTER, work / "b1.ipynb")
    b = replace(b, "sample_z_solution", "return eps", work / "b2.ipynb")

    def unguarded_and_deleted(nb):
        nb.metadata.kernelspec = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells.remove(_cell(nb, "sample_z_tests"))

    b = _edited(b, work / "b.ipynb", unguarded_and_deleted)

    # C: an honest sample_z, then the kernel killed at the score function's solution cell
    c = replace(master, "score_function_solution", "return x", work / "c1.ipynb")

    def killer(nb):
        _cell(nb, "score_function_solution").source = "import os\nos._exit(1)"

    c = _edited(c, work / "c.ipynb", killer)

    assignments.autograde(tmp_path, name, {"a": a, "b": b, "c": c})
    a_grades, b_grades, c_grades = (assignments.grades(tmp_path, name, s) for s in "abc")
    # (score, max_score, the kernel's own score)
    assert a_grades["sample_z_tests"] == (0, 3, 3), "fooled the kernel, not the referee"
    assert a_grades["score_function_tests"] == (0, 2, 0), "the test cell and points restored"
    assert b_grades["score_function_tests"] == (0, 2, 0)
    graded_b = nbformat.read(tmp_path / "autograded" / "b" / name / master.name, as_version=4)
    assert "grading does not allow reading" in str(_cell(graded_b, "score_function_tests").outputs)
    assert b_grades["sample_z_tests"][0] == 0
    # a kernel that dies stops nbgrader: the submission is recorded with nothing, flagged
    assert c_grades["sample_z_tests"][0] == c_grades["score_function_tests"][0] == 0
    assert assignments.flagged(tmp_path, name, "c") and not assignments.flagged(tmp_path, name, "a")
