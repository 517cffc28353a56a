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
import sys
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import launch
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


COURSE_FILES = ROOT / "course"  # nbgrader_config.py and the grading kernel's spec


def api(course: Path, config: Path | None = None, guarded: Path | None = None):
    """nbgrader's Python API on ``course``, configured by ``config`` (course/nbgrader_config.py).

    The course folder gets a copy of the configuration; the grading kernel (course/kernels/)
    is found through JUPYTER_PATH, and told which folder it must not read: ``guarded``, by
    default the course itself.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    course.mkdir(parents=True, exist_ok=True)
    config = config or COURSE_FILES / "nbgrader_config.py"
    if config.resolve() != (course / "nbgrader_config.py").resolve():
        shutil.copy2(config, course / "nbgrader_config.py")
    paths = [str(COURSE_FILES), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    os.environ["VAE_GRADER_COURSE"] = str((guarded or course).resolve())
    bin_dir = str(Path(sys.executable).parent)  # nbgrader calls `alembic` from the environment
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    loaded.CourseDirectory.root = str(course.resolve())
    return NbGraderAPI(config=loaded)


def gradebook(course: Path):
    """nbgrader's gradebook of ``course`` (its gradebook.db), as a context manager."""
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def _succeeded(result: dict, what: str) -> dict:
    if not result.get("success"):
        raise RuntimeError(f"{what} failed:\n{result.get('error')}\n{result.get('log')}")
    return result


def generate(course: Path, notebooks: list[Path]) -> dict[str, tuple[Path, Path]]:
    """Copy each master into source/<name>/ and generate its student version in release/.

    :return: assignment name -> (master, student version).
    """
    grader = api(course)
    released = {}
    for master in notebooks:
        name = master.stem
        source = course / "source" / name
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        shutil.copy2(master, source / master.name)
        _succeeded(grader.generate_assignment(name, force=True), f"generate_assignment {name}")
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


def autograde(
    course: Path, name: str, submissions: dict[str, Path], workers: int = 2
) -> dict[str, tuple]:
    """Autograde each copy of assignment ``name`` (tools/grade.py: ``workers`` at a time, then
    the referee, which has the last word on every exercise); (score, max_score) per student.

    A submission that cannot be graded at all keeps what its gradebook entry holds: nothing.
    """
    from tools import grade

    for student, notebook in submissions.items():
        folder = course / "submitted" / student / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copy2(notebook, folder / f"{name}.ipynb")
    jobs = [(name, student) for student in submissions]
    outcomes = grade.grade(course, jobs, workers=workers, progress=False)
    with gradebook(course) as book:
        scores = {}
        for outcome in outcomes:
            try:
                submission = book.find_submission(name, outcome.student)
                scores[outcome.student] = (submission.score, submission.max_score)
            except Exception:  # noqa: BLE001 (never graded: no entry)
                scores[outcome.student] = (0.0, None)
        return scores


def grades(course: Path, name: str, student: str) -> dict[str, tuple[float, float, float]]:
    """(score, max_score, nbgrader's own score) of each graded cell of a submission, by grade_id.

    The score is the final one: 0 where the referee failed the exercise, whatever the kernel's
    tests gave (the third number).
    """
    with gradebook(course) as book:
        submission = book.find_submission(name, student)
        return {
            grade.name: (grade.score, grade.max_score, grade.auto_score or 0.0)
            for notebook in submission.notebooks
            for grade in notebook.grades
        }


def flagged(course: Path, name: str, student: str) -> bool:
    """Whether a submission is flagged for the instructor's review (it could not be graded)."""
    with gradebook(course) as book:
        return any(nb.flagged for nb in book.find_submission(name, student).notebooks)


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

    For tests that open a notebook in JupyterLab with its quick parameters (the browser test);
    nbgrader needs no such copy: the notebooks choose them when NBGRADER_EXECUTION is set.
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


STUDENT_EDITION = ROOT / "student"  # the student versions, committed: Binder needs no nbgrader


def student_edition(released: dict[str, tuple[Path, Path]], folder: Path = STUDENT_EDITION) -> None:
    """Copy each generated student version to ``folder``/<name>.ipynb (make student-edition),
    its launch links pointing at that copy (tools/launch.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (_, student_version) in released.items():
        shutil.copy2(student_version, folder / f"{name}.ipynb")
        launch.stamp_notebook(folder / f"{name}.ipynb", f"{STUDENT_EDITION.name}/{name}.ipynb")


def same_cells(a: Path, b: Path) -> bool:
    """Whether two notebooks have the same cells (type, source, metadata), outputs aside."""

    def cells(path):
        return [(c.cell_type, c.source, dict(c.metadata)) for c in nbformat.read(path, 4).cells]

    return cells(a) == cells(b)


def check(course: Path, released: dict[str, tuple[Path, Path]]) -> list[str]:
    """Prove the grading loop on every assignment; return the problems found."""
    problems = []
    for name, (master, student_version) in released.items():
        leaks = leaked_lines(master, student_version)
        if leaks:
            problems.append(f"{name}: the student version contains {leaks[:3]}")
        submissions = {"student": student_version, "master": master}
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
    parser.add_argument(
        "--student-edition", action="store_true",
        help=f"also copy the student versions to {STUDENT_EDITION.relative_to(ROOT)}/",
    )  # fmt: skip
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
    if args.student_edition:
        student_edition(released)
        print(f"Student edition in {STUDENT_EDITION}")
    if args.check:
        problems = check(course, released)
        for problem in problems:
            print(f"PROBLEM: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
