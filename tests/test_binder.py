"""The Binder environment, built from binder/ alone, runs the whole series (make test-release).

Binder (repo2docker) installs binder/requirements.txt and then runs binder/postBuild, which
installs this package without dependencies. A notebook that imports something missing from
that file works everywhere else and fails only in a student's Binder session; this test builds
the same environment in a fresh virtual environment and executes every notebook there in quick
mode. It installs several hundred MB and takes a few minutes, so it runs in `make test-release`
(VAE_TUTORIAL_RELEASE=1), not in `make test`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.release,
    pytest.mark.skipif(
        not os.environ.get("VAE_TUTORIAL_RELEASE"),
        reason="builds a fresh environment (minutes): make test-release runs it",
    ),
]


def _binder_requirements() -> list[str]:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    requirements = [line.split("#", 1)[0].strip() for line in lines]
    # The download index names the CPU build torch==X+cpu; a local index may name it torch==X.
    local = [re.sub(r"^torch==(.+)\+cpu$", r"torch==\1", r) for r in requirements if r]
    return [r for r in local if not r.startswith("--")]


def test_the_binder_environment_runs_every_notebook(tmp_path):
    venv = tmp_path / "binder"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *_binder_requirements()], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)  # as binder/postBuild
    # the kernel spec of that environment first, whatever else is installed on this machine
    environment = {**os.environ, "JUPYTER_PATH": str(venv / "share" / "jupyter")}
    run = subprocess.run(
        [python, "tools/run_series.py", "--quick", "--jobs", "2", "--output-dir", tmp_path / "out"],
        capture_output=True, text=True, cwd=ROOT, env=environment,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
