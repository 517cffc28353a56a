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


def test_the_series_has_graded_notebooks():
    assert assignments.masters(), "no notebook of the series has graded cells"


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("master", assignments.masters(), ids=lambda path: path.stem)
def test_every_master_of_the_series_passes_the_loop(master, tmp_path):
    # One course folder (and gradebook) per assignment, so that test workers never share one.
    released = assignments.generate(tmp_path, [master])
    # quick = True: the graded cells are the same, the training around them shorter.
    assert assignments.check(tmp_path, released, quick=True) == []
