"""The grader against a student who attacks it: every crafted answer earns nothing.

A submission's cells run before the hidden tests, in the same kernel, so the tests in the kernel
can be fooled; the referee (tools/referee.py) tests each exercise again in a process of its own
and has the last word. Each attack below is a wrong or borrowed answer dressed up to pass; the
referee must fail it, and must pass the honest master. The attacks that act on the notebook
itself (editing a test cell or its points, deleting a cell, changing the kernel, killing the
kernel) go through nbgrader in tests/test_assignments.py. The guard that both the grading kernel
and the referee install is tested here on its own.

| attack | what defends it |
|---|---|
| call the reference under another name | referee: the reference raises when called |
| call it through another module or torch | referee: those raise too |
| switch off `sys.setprofile`, which forbid_calls uses | referee: needs no profiler |
| replace `vae_tutorial.grading.forbid_calls` | referee: does not use it |
| rebind torch / torch.testing / numpy / math / builtins comparisons | referee compares here |
| return an object that equals anything | referee reads only exact tensors, arrays, numbers |
| copy the reference's source at run time | its code replaced; guard: no reading the project |
| rebuild the reference from its code object | reference code replaced before student code |
| read the master notebook (the solution) at run time | guard: no reading the project/course |
| exit the process (SystemExit, os._exit) | referee: no answer, no points |
| kill the grader (os.kill) | guard: no signals to other processes |
| loop forever | referee: killed after its timeout |
| exhaust memory | referee: RLIMIT_DATA, the allocation fails |
| start another Python (subprocess) | guard: no new processes |
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_assignments import CHEATS
from tools import assignments, referee

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _exercise(function):
    (found,) = [e for e in referee.EXERCISES if e.function == function]
    return found


def _attack(tmp_path, exercise, code):
    master = NOTEBOOKS / f"{exercise.assignment}.ipynb"
    submission = tmp_path / "submitted" / master.name
    assignments.replace_solution(master, exercise.solution_id, code, submission)
    return submission, master


# Each attack: (the exercise's function, the code that replaces its solution region).
ATTACKS = {
    "alias": ("kl_to_standard_normal",
              "from vae_tutorial import gaussian_kl as my_own\nreturn my_own(mu, logvar)"),
    "another_module": ("kl_to_standard_normal",
                       "import vae_tutorial.elbo as e\n"
                       "return e.gaussian_kl_per_unit(mu, logvar).sum(-1)"),
    "torch_reference": ("kl_to_standard_normal",
                        "q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))\n"
                        "p = torch.distributions.Normal(torch.zeros_like(mu), 1.0)\n"
                        "return torch.distributions.kl_divergence(q, p).sum(-1)"),
    "profiler_off": ("kl_to_standard_normal",
                     "import sys\nsys.setprofile = lambda *args: None\n"
                     "from vae_tutorial import gaussian_kl\nreturn gaussian_kl(mu, logvar)"),
    "watcher_replaced": ("my_slerp",
                         "import contextlib\nimport vae_tutorial.grading as grading\n"
                         "grading.forbid_calls = lambda *a, **k: contextlib.nullcontext()\n"
                         "import vae_tutorial\nreturn vae_tutorial.slerp(z0, z1, t)"),
    "comparisons_rebound": ("my_slerp",
                            "import builtins, math\nimport numpy as np\n"
                            "torch.testing.assert_close = lambda *a, **k: None\n"
                            "torch.allclose = torch.equal = lambda *a, **k: True\n"
                            "np.testing.assert_allclose = lambda *a, **k: None\n"
                            "np.allclose = lambda *a, **k: True\n"
                            "math.isclose = lambda *a, **k: True\n"
                            "builtins.abs = lambda value: 0.0\n"
                            "return torch.zeros(len(t), len(z0), dtype=z0.dtype)"),
    "equal_to_anything": ("my_slerp",
                          "class Anything(torch.Tensor):\n"
                          "    def __eq__(self, other):\n        return True\n"
                          "    @classmethod\n"
                          "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                          "        return True\n"
                          "return torch.zeros(len(t), len(z0)).as_subclass(Anything)"),
    "copied_source": ("my_ppca",
                      "import inspect\nimport vae_tutorial.linear_vae as lv\n"
                      "namespace = {'torch': torch}\n"
                      "exec(inspect.getsource(lv.ppca_fit), namespace)\n"
                      "return namespace['ppca_fit'](x, latent_dim)"),
    "reads_the_package_file": ("my_ppca",
                               "import vae_tutorial.linear_vae as lv\n"
                               "namespace = {}\n"
                               "exec(open(lv.__file__).read(), namespace)\n"
                               "return namespace['ppca_fit'](x, latent_dim)"),
    "rebuilt_from_code": ("my_ppca",
                          "import types\nfrom vae_tutorial.linear_vae import ppca_fit\n"
                          "copy = types.FunctionType(ppca_fit.__code__, ppca_fit.__globals__)\n"
                          "return copy(x, latent_dim)"),
    "reads_the_master": ("my_active_units",
                         "import json, pathlib\n"
                         "import vae_tutorial\n"
                         "root = pathlib.Path(vae_tutorial.__file__).parents[1]\n"
                         "cells = json.loads((root / 'notebooks' / '05_training.ipynb')"
                         ".read_text())['cells']\n"
                         "(cell,) = [c for c in cells if 'def my_active_units' in ''.join("
                         "c['source'])]\n"
                         "namespace = {'torch': torch}\nexec(''.join(cell['source']), namespace)\n"
                         "return namespace['my_active_units'](mu, threshold)"),
    "system_exit": ("my_active_units", "raise SystemExit(0)"),
    "exits_the_process": ("my_active_units", "import os\nos._exit(0)"),
    "kills_the_grader": ("my_active_units",
                         "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
    "runs_forever": ("my_active_units", "while True:\n    pass"),
    "exhausts_memory": ("my_active_units",
                        "hoard = []\nwhile True:\n    hoard.append(bytearray(2**28))"),
    "another_python": ("my_active_units",
                       "import subprocess, sys\n"
                       "subprocess.run([sys.executable, '-c', 'print(1)'], check=True)\n"
                       "return mu.var(0), 0"),
}  # fmt: skip


# Why the referee must fail each attack: a part of its reason, so that no attack "fails" for
# another reason (a timeout, say) and hides a hole.
REASONS = {
    "alias": "reference implementation", "another_module": "reference implementation",
    "torch_reference": "reference implementation", "profiler_off": "reference implementation",
    "watcher_replaced": "reference implementation", "comparisons_rebound": "differs",
    "equal_to_anything": "cannot read a Anything", "copied_source": "could not get source code",
    "rebuilt_from_code": "reference implementation",
    "reads_the_package_file": "does not allow reading",
    "reads_the_master": "does not allow reading",
    "system_exit": "SystemExit", "exits_the_process": "stopped before answering",
    "kills_the_grader": "does not allow os.kill", "runs_forever": "no answer within",
    "exhausts_memory": "MemoryError", "another_python": "does not allow subprocess",
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def warm_referee(tmp_path_factory):
    """Start the referee's fork server (it imports PyTorch once) before the timed verdicts, and
    check on the way that it passes an honest answer."""
    exercise = _exercise("my_slerp")
    master = NOTEBOOKS / f"{exercise.assignment}.ipynb"
    verdict = referee.judge(exercise, master, master)
    assert verdict.passed, verdict.reason


@pytest.mark.slow
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_referee_fails_every_attack(attack, tmp_path):
    function, code = ATTACKS[attack]
    exercise = _exercise(function)
    submission, master = _attack(tmp_path, exercise, code)
    verdict = referee.judge(exercise, submission, master, timeout=5)
    assert not verdict.passed, f"{attack} passed the referee"
    assert REASONS[attack] in verdict.reason, (
        f"{attack} failed for another reason: {verdict.reason}"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, solution_id",
    [(name, solution_id) for name, cheats in CHEATS.items() for solution_id in cheats],
)
def test_the_referee_fails_answers_that_call_the_package(name, solution_id, tmp_path):
    (exercise,) = [e for e in referee.exercises_of(name) if e.solution_id == solution_id]
    submission, master = _attack(tmp_path, exercise, CHEATS[name][solution_id][1])
    verdict = referee.judge(exercise, submission, master, timeout=5)
    assert not verdict.passed and "reference implementation" in verdict.reason, verdict.reason


def test_every_graded_cell_belongs_to_a_referee_exercise():
    import nbformat

    for master in assignments.masters():
        nb = nbformat.read(master, as_version=4)
        tests = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip
        covered = {t for e in referee.exercises_of(master.stem) for t in e.tests_ids}
        assert tests == covered, f"{master.name}: graded {tests}, the referee covers {covered}"


def test_the_referee_keeps_imports_definitions_and_assignments():
    source = "import math\nx = 1\ndef f():\n    return x\nprint('side effect')\nclass C:\n    pass"
    source += "\nfor i in range(3):\n    print(i)"
    kept = referee.definitions(source)
    assert "import math" in kept and "def f" in kept and "class C" in kept and "x = 1" in kept
    assert "print" not in kept and "for" not in kept


def test_inputs_vary_with_the_course_secret(monkeypatch):
    exercise = _exercise("my_slerp")
    seed = referee.course_seed(exercise)
    monkeypatch.setenv("VAE_GRADER_SECRET", "another course")
    assert referee.course_seed(exercise) != seed


def _guarded(tmp_path, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python after install_guard(denied=[tmp_path/course])."""
    program = textwrap.dedent(f"""
        from vae_tutorial.grading import install_guard
        install_guard([{str(tmp_path / "course")!r}], allowed_root={str(tmp_path / "own")!r})
    """) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)


REFUSED = {
    "read the course": "open(COURSE + '/source/04_elbo/04_elbo.ipynb')",
    "open the gradebook": "import sqlite3; sqlite3.connect(COURSE + '/gradebook.db')",
    "read a notebook elsewhere": "open(ELSEWHERE + '/master.ipynb')",
    "write outside": "open(OUTSIDE_TMP + '/guard-test.txt', 'w')",
    "remove outside": "import os; os.remove(COURSE + '/gradebook.db')",
    "start a process": "import subprocess; subprocess.run(['true'])",
    "run a shell": "import os; os.system('true')",
    "signal the grader": "import os; os.kill(os.getppid(), 0)",
    "load C code": "import ctypes; ctypes.CDLL(None)",
    "read the grader's memory": "import os; open(f'/proc/{os.getppid()}/mem', 'rb')",
}


def test_the_guard_refuses_what_grading_never_needs(tmp_path):
    (tmp_path / "course" / "source" / "04_elbo").mkdir(parents=True)
    (tmp_path / "course" / "gradebook.db").write_text("")
    (tmp_path / "course" / "source" / "04_elbo" / "04_elbo.ipynb").write_text("{}")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "master.ipynb").write_text("{}")
    attempts = "".join(
        f"try:\n    {code}\n    print('ALLOWED', {what!r})\n"
        f"except GradingViolation:\n    print('refused', {what!r})\n"
        for what, code in REFUSED.items()
    )
    run = _guarded(tmp_path, "from vae_tutorial.grading import GradingViolation\n"
                   f"COURSE = {str(tmp_path / 'course')!r}\n"
                   f"ELSEWHERE = {str(tmp_path / 'elsewhere')!r}\n"
                   f"OUTSIDE_TMP = {str(Path.home())!r}\n" + attempts)  # fmt: skip
    assert run.returncode == 0, run.stderr[-800:]
    assert run.stdout.count("refused") == len(REFUSED), run.stdout


def test_the_guard_lets_the_submission_work_in_its_own_folder(tmp_path):
    (tmp_path / "own").mkdir()
    run = _guarded(
        tmp_path,
        f"""
        import tempfile, torch
        path = {str(tmp_path / "own" / "checkpoint.pt")!r}
        torch.save({{"w": torch.ones(2)}}, path)
        assert torch.load(path)["w"].sum() == 2
        with tempfile.TemporaryDirectory() as folder:
            open(folder + "/x.txt", "w").write("ok")
        print("fine")
    """,
    )
    assert run.returncode == 0 and "fine" in run.stdout, run.stderr[-800:]


def test_the_memory_limit_stops_a_hog_in_its_own_process():
    program = textwrap.dedent("""
        import torch
        from vae_tutorial.grading import limit_resources
        limit_resources(memory_mb=1024)
        try:
            torch.ones(2**29)  # 2 GiB of float32
        except RuntimeError as error:
            print("refused:", "can't allocate memory" in str(error))
    """)
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert "refused: True" in run.stdout, run.stdout + run.stderr[-500:]
