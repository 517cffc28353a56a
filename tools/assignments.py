"""Coursework with nbgrader, offline: student versions from the master notebooks, and autograding.

    python tools/assignments.py                      # student versions in build/course/release/
    python tools/assignments.py --check              # ... then prove the grading loop (see below)

The master notebooks in notebooks/ carry nbgrader metadata: solution regions
(### BEGIN SOLUTION / ### END SOLUTION) and test cells with hidden parts
(### BEGIN HIDDEN TESTS / ### END HIDDEN TESTS). Each master becomes one nbgrader assignment named
after the notebook. `nbgrader generate_assignment` writes the student version without solutions,
hidden tests or outputs. --check then autogrades, for each assignment, the student version as
handed out (it must score 0) and the master (it must score full marks), and verifies that no line
of a solution or of a hidden test reached the student version. No JupyterHub is involved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.run_series import series

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
REGIONS = {
    "solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
    "hidden test": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}


def masters() -> list[Path]:
    """The notebooks of the series that contain graded cells."""
    return [
        path
        for path in series()
        if any(
            cell.metadata.get("nbgrader", {}).get("grade")
            for cell in nbformat.read(path, as_version=4).cells
        )
    ]


def nbgrader(*args: str, course: Path) -> None:
    """Run an nbgrader command on the course folder; fail loudly with its output."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader calls `alembic` from the environment
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=course)
    if run.returncode != 0 or "[ERROR]" in run.stderr:
        raise RuntimeError(f"{' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")


def generate(course: Path, notebooks: list[Path]) -> dict[str, tuple[Path, Path]]:
    """Copy each master into source/<name>/ and generate its student version in release/.

    :return: assignment name -> (master, student version).
    """
    released = {}
    for master in notebooks:
        name = master.stem
        source = course / "source" / name
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        shutil.copy2(master, source / master.name)
        nbgrader("generate_assignment", name, "--force", course=course)
        released[name] = (master, course / "release" / name / master.name)
    return released


def _split_lines(master: Path) -> tuple[list[str], set[str]]:
    """(lines inside solution or hidden-test regions, lines outside them) of ``master``."""
    hidden, visible = [], set()
    for cell in nbformat.read(master, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if any(stripped == begin for begin, _ in REGIONS.values()):
                inside = True
            elif any(stripped == end for _, end in REGIONS.values()):
                inside = False
            elif inside:
                hidden.append(stripped)
            else:
                visible.add(stripped)
    return hidden, visible


def hidden_lines(master: Path) -> list[str]:
    """Lines only found inside solution or hidden-test regions of ``master``.

    Lines the master also shows elsewhere (the notebook's own worked version after an exercise,
    a closing bracket) are not secrets, and lines without a letter or digit are skipped.
    """
    hidden, visible = _split_lines(master)
    return [line for line in hidden if line not in visible and any(ch.isalnum() for ch in line)]


def leaked_lines(master: Path, student: Path) -> list[str]:
    """Solution or hidden-test lines of the master that appear in the student version."""
    text = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
    student_lines = {line.strip() for line in text.splitlines()}
    markers = [marker for pair in REGIONS.values() for marker in pair]
    leaks = [line for line in hidden_lines(master) if line in student_lines]
    return leaks + [m for m in markers if m in text]


def autograde(course: Path, name: str, submissions: dict[str, Path]) -> dict[str, tuple]:
    """Autograde each copy of assignment ``name``; return (score, max_score) per student."""
    from nbgrader.api import Gradebook

    for student, notebook in submissions.items():
        folder = course / "submitted" / student / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy2(notebook, folder / notebook.name)
        nbgrader(
            "autograde", name, f"--student={student}", "--force",
            "--ExecutePreprocessor.timeout=600", course=course,
        )  # fmt: skip
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            student: (gradebook.find_submission(name, student).score,
                      gradebook.find_submission(name, student).max_score)
            for student in submissions
        }  # fmt: skip


def grades(course: Path, name: str, student: str) -> dict[str, tuple[float, float]]:
    """Score and maximum of each graded cell of one autograded submission, by grade_id."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(name, student)
        return {
            grade.name: (grade.score, grade.max_score)
            for notebook in submission.notebooks
            for grade in notebook.grades
        }


def replace_solution(master: Path, grade_id: str, code: str, destination: Path) -> Path:
    """A copy of ``master`` whose solution region in cell ``grade_id`` holds ``code`` instead."""
    nb = nbformat.read(master, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    begin, end = REGIONS["solution"]
    lines = cell.source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == begin)
    stop = next(i for i, line in enumerate(lines) if line.strip() == end)
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    replacement = [indent + line for line in code.strip().splitlines()]
    cell.source = "\n".join(lines[:start] + replacement + lines[stop + 1 :])
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return destination


def quick_copy(notebook: Path, destination: Path) -> Path:
    """A copy of ``notebook`` whose parameters cell sets ``quick = True``.

    The graded cells are unchanged; only the amount of data and training around them shrinks,
    as in the tests' quick runs, so that autograding a long notebook takes seconds.
    """
    nb = nbformat.read(notebook, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    lines = cell.source.splitlines()
    if not any(line.startswith("quick =") for line in lines):
        raise ValueError(f"{notebook.name}: its parameters cell assigns no `quick`")
    cell.source = "\n".join(
        "quick = True  # set by tools/assignments.py" if line.startswith("quick =") else line
        for line in lines
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return destination


def check(course: Path, released: dict[str, tuple[Path, Path]], quick: bool = False) -> list[str]:
    """Prove the grading loop on every assignment; return the problems found.

    :param quick: autograde copies that run with ``quick = True`` (see ``quick_copy``).
    """
    problems = []
    for name, (master, student_version) in released.items():
        leaks = leaked_lines(master, student_version)
        if leaks:
            problems.append(f"{name}: the student version contains {leaks[:3]}")
        submissions = {"student": student_version, "master": master}
        if quick:
            submissions = {
                who: quick_copy(path, course / "quick" / who / name / path.name)
                for who, path in submissions.items()
            }
        scores = autograde(course, name, submissions)
        (student, most), (graded, full) = scores["student"], scores["master"]
        print(f"{name}: student version {student:g}/{most:g}, master {graded:g}/{full:g}")
        if full <= 0 or student != 0 or graded != full:
            problems.append(f"{name}: expected 0 and full marks, got {scores}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-dir", type=Path, default=ROOT / "build" / "course")
    parser.add_argument("--check", action="store_true", help="autograde to prove the loop")
    parser.add_argument("--quick", action="store_true", help="autograde with quick = True")
    args = parser.parse_args(argv)
    course = args.course_dir.resolve()
    course.mkdir(parents=True, exist_ok=True)
    notebooks = masters()
    if not notebooks:
        print("No notebook has graded cells yet.")
        return 0
    released = generate(course, notebooks)
    for name, (_, student_version) in released.items():
        print(f"{name}: student version {student_version}")
    if args.check:
        problems = check(course, released, quick=args.quick)
        for problem in problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
