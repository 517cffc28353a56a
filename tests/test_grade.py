"""tools/grade.py: what it cannot grade, it names and skips; grades copy into the gradebook.

The whole path (workers, the grading kernel, the referee, recording) runs in
tests/test_assignments.py; the simulated class of tools/simulate_class.py measures it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import assignments, grade

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def course(tmp_path):
    """A course folder with two masters in source/, no gradebook needed."""
    for name in ("02_reparameterization", "04_elbo"):
        (tmp_path / "source" / name).mkdir(parents=True)
        shutil.copy2(assignments.NOTEBOOKS / f"{name}.ipynb", tmp_path / "source" / name)
    return tmp_path


def _submit(course, student, name, source=None, text=None):
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    if source is not None:
        shutil.copy2(source, folder / f"{name}.ipynb")
    if text is not None:
        (folder / f"{name}.ipynb").write_text(text)
    return folder / f"{name}.ipynb"


def test_submissions_that_cannot_be_graded_are_named(course):
    name = "02_reparameterization"
    fine = _submit(course, "fine", name, source=assignments.NOTEBOOKS / f"{name}.ipynb")
    broken = _submit(course, "broken", name, text='{"cells": [')
    other = _submit(course, "other", name, source=assignments.NOTEBOOKS / "04_elbo.ipynb")
    missing = course / "submitted" / "missing" / name / f"{name}.ipynb"
    assert grade.problem(fine, name) is None
    assert "not a notebook" in grade.problem(broken, name)
    assert "another" in grade.problem(other, name)
    assert "no file" in grade.problem(missing, name)


def test_grading_skips_them_without_running_anything(course, capsys):
    name = "04_elbo"
    _submit(course, "broken", name, text="not json")
    _submit(course, "other", name, source=assignments.NOTEBOOKS / "02_reparameterization.ipynb")
    outcomes = grade.grade(course, [(name, "broken"), (name, "other")], progress=False)
    assert [o.ok for o in outcomes] == [False, False]
    printed = capsys.readouterr().out
    assert "NOT GRADED broken/04_elbo" in printed and "NOT GRADED other/04_elbo" in printed
