"""Grade a class: every submission autograded in parallel, recorded one at a time.

    python tools/grade.py --course build/course              # everything in submitted/
    python tools/grade.py --course build/course --workers 2 --assignment 04_elbo

The course folder has nbgrader's layout: source/<assignment>/ (the masters, as
tools/assignments.py puts them there) and submitted/<student>/<assignment>/<assignment>.ipynb.
nbgrader's gradebook is one SQLite file that does not take concurrent writers, so each
submission is autograded by a worker process in a scratch copy of the course (its own copy of
the gradebook, the grading kernel with one CPU thread when several run at once, a wall-clock
limit); then, one submission at a time, this process lets the referee (tools/referee.py) test
every exercise, copies the grades into the course's gradebook and the autograded notebook into
autograded/. A submission that cannot be graded (invalid JSON, a notebook of another assignment,
no file) is reported by name and skipped; grades already recorded are never lost. At the end:
nbgrader's feedback for every student, grades.csv and one histogram per exercise (PNG).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import assignments, referee

WALL_S = 240  # per submission, the worker with its kernel; the kernel itself stops at 180 s


@dataclass
class Outcome:
    assignment: str
    student: str
    ok: bool
    message: str = ""
    seconds: float = 0.0


def _scratch(course: Path, assignment: str, student: str) -> Path:
    return course / ".grading" / assignment / student


def problem(notebook: Path, assignment: str) -> str | None:
    """Why ``notebook`` cannot be graded as ``assignment``, or None."""
    if not notebook.is_file():
        return f"no file {notebook.name}"
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as error:  # noqa: BLE001 (invalid JSON, a wrong schema, ...)
        return f"not a notebook ({type(error).__name__})"
    master = nbformat.read(notebook.parents[3] / "source" / assignment / notebook.name, 4)

    def ids(cells):
        return {c.metadata.get("nbgrader", {}).get("grade_id") for c in cells} - {None}

    if not ids(nb.cells) & ids(master.cells):
        return "none of its cells belongs to this assignment (a notebook of another one?)"
    return None


def work(course: Path, assignment: str, student: str) -> int:
    """Worker process: autograde one submission in its scratch course."""
    scratch = _scratch(course, assignment, student)
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "source").mkdir(parents=True)
    shutil.copytree(course / "source" / assignment, scratch / "source" / assignment)
    submitted = scratch / "submitted" / student / assignment
    shutil.copytree(course / "submitted" / student / assignment, submitted)
    shutil.copy2(course / "gradebook.db", scratch / "gradebook.db")
    grader = assignments.api(scratch, config=course / "nbgrader_config.py", guarded=course)
    result = grader.autograde(assignment, student, force=True, create=True)
    if not result.get("success"):
        print(result.get("error") or result.get("log"), file=sys.stderr)
        return 1
    return 0


def run_worker(course: Path, assignment: str, student: str, threads: int | None) -> Outcome:
    """Start a worker process and wait for it, at most WALL_S seconds."""
    start = time.perf_counter()
    environment = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    command = [sys.executable, __file__, "--course", str(course), "--worker", assignment, student]
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a timeout stops the kernel too
    )
    try:
        output, _ = process.communicate(timeout=WALL_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # the worker and its kernel
        process.communicate()
        return Outcome(assignment, student, False, f"no result within {WALL_S} s")
    seconds = time.perf_counter() - start
    lines = output.strip().splitlines()
    message = "" if process.returncode == 0 else (lines[-1] if lines else "the worker failed")
    if process.returncode != 0:  # the whole log, for the instructor's review
        log = course / "reports" / "logs" / f"{student}__{assignment}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(output)
        message += f" (log: {log})"
    return Outcome(assignment, student, process.returncode == 0, message, seconds)


def run_twice(course: Path, assignment: str, student: str, threads: int | None) -> Outcome:
    """A worker that fails (a kernel that died under load, say) gets a second try."""
    outcome = run_worker(course, assignment, student, threads)
    if not outcome.ok and not outcome.message.startswith("no result within"):
        outcome = run_worker(course, assignment, student, threads)
    return outcome


def _fresh_submission(gradebook, assignment: str, student: str, **fields):
    """An empty submission of ``student`` in ``gradebook``, replacing any recorded before."""
    from nbgrader.api import MissingEntry

    gradebook.update_or_create_student(student)
    try:
        gradebook.remove_submission(assignment, student)
    except MissingEntry:
        pass
    return gradebook.add_submission(assignment, student, **fields)


def record(course: Path, assignment: str, student: str) -> None:
    """Referee the scratch copy's submission, then copy its grades and notebook into the course."""
    scratch = _scratch(course, assignment, student)
    submitted = scratch / "submitted" / student / assignment / f"{assignment}.ipynb"
    master = course / "source" / assignment / f"{assignment}.ipynb"
    verdicts = referee.review(submitted, master, course)
    referee.apply(scratch, assignment, student, verdicts)
    with assignments.gradebook(scratch) as graded, assignments.gradebook(course) as gradebook:
        source = graded.find_submission(assignment, student)
        _fresh_submission(gradebook, assignment, student, timestamp=source.timestamp)
        for notebook in source.notebooks:
            for grade in notebook.grades:
                copy = gradebook.find_grade(grade.name, notebook.name, assignment, student)
                copy.auto_score, copy.manual_score = grade.auto_score, grade.manual_score
                copy.needs_manual_grade = grade.needs_manual_grade
            copied = gradebook.find_submission_notebook(notebook.name, assignment, student)
            copied.flagged = notebook.flagged
            for comment in notebook.comments:
                copy = gradebook.find_comment(comment.name, notebook.name, assignment, student)
                copy.auto_comment, copy.manual_comment = (
                    comment.auto_comment,
                    comment.manual_comment,
                )
        gradebook.db.commit()
    destination = course / "autograded" / student / assignment
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(scratch / "autograded" / student / assignment, destination)
    shutil.rmtree(scratch, ignore_errors=True)


def record_nothing(course: Path, assignment: str, student: str, reason: str) -> None:
    """A submission that nbgrader could not finish: every exercise 0, flagged for review."""
    with assignments.gradebook(course) as gradebook:
        submission = _fresh_submission(gradebook, assignment, student)
        for notebook in submission.notebooks:
            notebook.flagged = True
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = 0.0, False
            for comment in notebook.comments:
                comment.auto_comment = f"Not graded: {reason}"
        gradebook.db.commit()
    shutil.rmtree(_scratch(course, assignment, student), ignore_errors=True)


def grade(course: Path, jobs: list[tuple[str, str]], workers: int = 1,
          progress: bool = True) -> list[Outcome]:  # fmt: skip
    """Autograde ``jobs`` (assignment, student) with ``workers`` processes; record serially."""
    from tqdm.auto import tqdm

    outcomes = []
    runnable = []
    for assignment, student in jobs:
        notebook = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        reason = problem(notebook, assignment)
        if reason:
            outcomes.append(Outcome(assignment, student, False, reason))
        else:
            runnable.append((assignment, student))
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else None
    bar = tqdm(total=len(jobs), desc="grading", unit="submission", disable=not progress)
    bar.update(len(jobs) - len(runnable))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_twice, course, a, s, threads) for a, s in runnable]
        for future in as_completed(futures):  # this thread alone writes the gradebook
            outcome = future.result()
            try:
                if outcome.ok:
                    record(course, outcome.assignment, outcome.student)
                else:  # its kernel died, or it ran out of time: nothing, and flagged
                    record_nothing(course, outcome.assignment, outcome.student, outcome.message)
            except Exception as error:  # noqa: BLE001 (reported, the others go on)
                outcome.ok, outcome.message = False, f"recording failed: {error}"
            outcomes.append(outcome)
            bar.update(1)
    bar.close()
    for outcome in outcomes:
        if not outcome.ok:
            print(f"NOT GRADED {outcome.student}/{outcome.assignment}: {outcome.message}")
    return outcomes


def export(course: Path, folder: Path) -> list[Path]:
    """grades.csv (one row per student and exercise) and a histogram per exercise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    with assignments.gradebook(course) as gradebook:
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows.append({"assignment": assignment.name,
                                     "student": submission.student.id,
                                     "exercise": grade.name, "score": grade.score,
                                     "max_score": grade.max_score})  # fmt: skip
    table = folder / "grades.csv"
    with table.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["assignment", "student", "exercise", "score",
                                                    "max_score"])  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)
    written = [table]
    for exercise in sorted({(r["assignment"], r["exercise"]) for r in rows}):
        scores = [r["score"] for r in rows if (r["assignment"], r["exercise"]) == exercise]
        most = max(r["max_score"] for r in rows if (r["assignment"], r["exercise"]) == exercise)
        figure, axes = plt.subplots(figsize=(5, 3.2))
        axes.hist(scores, bins=[x - 0.5 for x in range(int(most) + 2)], color="#0072B2")
        axes.set_xticks(range(int(most) + 1))
        axes.set(xlabel=f"points (of {most:g})", ylabel="students",
                 title=f"{exercise[0]}: {exercise[1]} ({len(scores)} submissions)")  # fmt: skip
        path = folder / f"{exercise[0]}__{exercise[1]}.png"
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=assignments.ROOT / "build" / "course")
    parser.add_argument("--assignment", action="append", help="default: every assignment")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-feedback", action="store_true")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)  # assignment student
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.worker:
        return work(course, *args.worker)
    masters = {m.stem: m for m in assignments.masters()}
    wanted = args.assignment or sorted(masters)
    missing = [name for name in wanted if not (course / "source" / name).is_dir()]
    assignments.generate(course, [masters[name] for name in missing if name in masters])
    jobs = sorted(
        (folder.name, folder.parent.name)
        for folder in (course / "submitted").glob("*/*")
        if folder.is_dir() and folder.name in wanted
    )
    start = time.perf_counter()
    outcomes = grade(course, jobs, args.workers)
    minutes = (time.perf_counter() - start) / 60
    graded = [o for o in outcomes if o.ok]
    rate = len(graded) / max(minutes, 1e-9)
    print(f"{len(graded)} of {len(jobs)} submissions graded in {minutes:.1f} min "
          f"({rate:.1f} per minute, {args.workers} workers)")  # fmt: skip
    if not args.no_feedback:
        grader = assignments.api(course)
        for name in sorted({o.assignment for o in graded}):
            grader.generate_feedback(name, force=True)
    written = export(course, course / "reports")
    print(f"Grades: {written[0]}; {len(written) - 1} histograms in {written[0].parent}")
    (course / "reports" / "outcomes.json").write_text(
        json.dumps([o.__dict__ for o in outcomes], indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
