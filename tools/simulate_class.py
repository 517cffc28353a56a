"""A simulated class, to measure and check `make grade`: submissions made from the masters.

    python tools/simulate_class.py --course build/class --per-assignment 50
    python tools/grade.py --course build/class --workers 2
    python tools/simulate_class.py --course build/class --check    # grades against expectations

Each assignment gets submissions of five kinds, in turn: correct (the master), empty (the student
version as handed out), partly right (the first exercise solved, the others not; one exercise
only: a wrong answer), broken (invalid JSON, a missing file, a notebook of another assignment, a
solution that does not parse) and adversarial (the comparisons of the kernel's tests rebound and
a wrong answer, or the package's reference called). expected.json holds the points each should
get; --check compares them with reports/grades.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import nbformat

if __package__ in (None, ""):  # run as a script: make the project root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import assignments, referee

KINDS = ["correct", "empty", "partly", "broken", "adversarial"]
# The kernel's comparisons rebound, then a wrong answer: the kernel's tests may pass, the
# referee must not.
FOOL = (
    "import builtins, math\nimport numpy as np\nimport torch\n"
    "torch.testing.assert_close = lambda *args, **kwargs: None\n"
    "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
    "torch.allclose = lambda *args, **kwargs: True\n"
    "return None"
)


def _solution_ids(master: Path) -> list[str]:
    return [e.solution_id for e in referee.exercises_of(master.stem)]


def _points(master: Path) -> dict[str, float]:
    """Points of each exercise's test cells, by solution_id."""
    cells = nbformat.read(master, as_version=4).cells
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in cells if c.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip
    return {e.solution_id: sum(points[t] for t in e.tests_ids)
            for e in referee.exercises_of(master.stem)}  # fmt: skip


def make(course: Path, per_assignment: int) -> dict:
    released = assignments.generate(course, assignments.masters())
    names = sorted(released)
    expected: dict = {}
    for n_assignment, name in enumerate(names):
        master, student_version = released[name]
        points, ids = _points(master), _solution_ids(master)
        for i in range(per_assignment):
            kind = KINDS[i % len(KINDS)]
            student = f"s{i:03d}-{kind}"
            folder = course / "submitted" / student / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            target = folder / f"{name}.ipynb"
            work = course / "simulation" / student / name
            total = 0.0
            if kind == "correct":
                shutil.copy2(master, target)
                total = sum(points.values())
            elif kind == "empty":
                shutil.copy2(student_version, target)
            elif kind == "partly":
                path = master
                for j, solution_id in enumerate(ids[1:] if len(ids) > 1 else ids):
                    path = assignments.replace_solution(
                        path, solution_id, "raise NotImplementedError()", work / f"{j}.ipynb"
                    )
                shutil.copy2(path, target)
                total = points[ids[0]] if len(ids) > 1 else 0.0
            elif kind == "broken":
                variant = (i // len(KINDS)) % 4
                if variant == 0:
                    target.write_text('{"cells": [')  # invalid JSON
                elif variant == 1:
                    pass  # the folder holds no notebook
                elif variant == 2:  # a notebook of another assignment
                    other = released[names[(n_assignment + 1) % len(names)]][0]
                    shutil.copy2(other, target)
                else:
                    path = assignments.replace_solution(
                        master, ids[0], "return (", work / "syntax.ipynb"
                    )
                    shutil.copy2(path, target)
                    total = sum(points.values()) - points[ids[0]]
            else:  # adversarial
                if (i // len(KINDS)) % 2 == 0:
                    path = master
                    for j, solution_id in enumerate(ids):
                        path = assignments.replace_solution(
                            path, solution_id, FOOL, work / f"fool{j}.ipynb"
                        )
                else:
                    from tests.test_assignments import CHEATS

                    path = master
                    cheats = CHEATS.get(name, {})
                    for j, (solution_id, (_, code)) in enumerate(cheats.items()):
                        path = assignments.replace_solution(
                            path, solution_id, code, work / f"cheat{j}.ipynb"
                        )
                    total = sum(p for s, p in points.items() if s not in cheats)
                shutil.copy2(path, target)
            expected.setdefault(name, {})[student] = total
    shutil.rmtree(course / "simulation", ignore_errors=True)
    (course / "expected.json").write_text(json.dumps(expected, indent=1))
    return expected


def check(course: Path) -> list[str]:
    """Submissions whose recorded points differ from what their kind should get."""
    expected = json.loads((course / "expected.json").read_text())
    got: dict = {}
    with (course / "reports" / "grades.csv").open() as stream:
        for row in csv.DictReader(stream):
            key = (row["assignment"], row["student"])
            got[key] = got.get(key, 0.0) + float(row["score"])
    problems = []
    for name, students in expected.items():
        for student, points in students.items():
            recorded = got.get((name, student))
            if recorded is None and points == 0:
                continue  # not gradable (reported by tools/grade.py), so nothing recorded
            if recorded != points:
                problems.append(f"{name}/{student}: expected {points}, recorded {recorded}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=assignments.ROOT / "build" / "class")
    parser.add_argument("--per-assignment", type=int, default=50)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.check:
        problems = check(course)
        for line in problems:
            print(f"PROBLEM: {line}")
        print(f"{len(problems)} submissions graded otherwise than expected")
        return 1 if problems else 0
    expected = make(course, args.per_assignment)
    count = sum(len(s) for s in expected.values())
    print(f"{count} submissions in {course / 'submitted'}; expected points in expected.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
