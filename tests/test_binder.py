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
from packaging.utils import canonicalize_name

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


def _fresh_venv(venv: Path) -> tuple[str, list[str]]:
    """A new virtual environment: its python, and the pip install command that fills it."""
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = str(venv / "bin" / "python")
    return python, [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]


def test_the_binder_environment_runs_every_notebook(tmp_path):
    venv = tmp_path / "binder"
    python, pip = _fresh_venv(venv)
    subprocess.run([*pip, *_binder_requirements()], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)  # as binder/postBuild
    # binder/requirements.txt pins the whole environment: pip installed nothing it does not name
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    installed = {canonicalize_name(line.split("==")[0]) for line in frozen} - {"pip"}
    pinned = {canonicalize_name(re.split(r"==", r)[0]) for r in _binder_requirements()}
    assert installed == pinned, (
        f"unpinned: {installed - pinned}; not installed: {pinned - installed}"
    )
    # the kernel spec of that environment first, whatever else is installed on this machine
    environment = {**os.environ, "JUPYTER_PATH": str(venv / "share" / "jupyter")}
    run = subprocess.run(
        [python, "tools/run_series.py", "--quick", "--jobs", "2", "--output-dir", tmp_path / "out"],
        capture_output=True, text=True, cwd=ROOT, env=environment,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


COLAB_HAS = ("torch", "numpy", "matplotlib", "scipy", "scikit-learn", "tqdm", "ipywidgets")


def test_the_first_cell_installs_the_package_on_a_machine_like_colab(tmp_path):
    """Colab has PyTorch and the scientific stack but not this package: the notebooks' first cell
    installs it (from the repository at the launch ref; here from this clone's commit, since
    GitHub is out of reach) and downloads MNIST, then checks the environment; run again, it
    installs nothing."""
    from tools import launch

    python, pip = _fresh_venv(tmp_path / "colab")
    # Colab's pip is a current one; the pip that venv bundles here (23.2) refuses a git+file URL
    # without a host, which this test needs in place of GitHub's.
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-c", ROOT / "requirements" / "constraints.txt", *COLAB_HAS], check=True)
    fake = tmp_path / "fake"  # `google.colab` is imported in every Colab kernel
    (fake / "google" / "colab").mkdir(parents=True)
    (fake / "google" / "__init__.py").write_text("")
    (fake / "google" / "colab" / "__init__.py").write_text("")
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    source = launch.check_cell_source()
    remote = launch.package_source()
    assert remote in source
    cell = tmp_path / "cell.py"
    cell.write_text("import google.colab\n" + source.replace(remote, f"git+file://{ROOT}@{commit}"))
    cache = tmp_path / "cache"  # MNIST "downloads" from the shared copy when there is one
    shared = ROOT.parent / "shared" / "data" / "mnist"
    if shared.is_dir():
        (cache / "mnist").mkdir(parents=True)
        for file in shared.glob("*.gz"):
            (cache / "mnist" / file.name).symlink_to(file)
    environment = {**os.environ, "PYTHONPATH": str(fake), "VAE_TUTORIAL_CACHE": str(cache)}
    environment.pop("VAE_TUTORIAL_DATA", None)
    first = subprocess.run([python, cell], capture_output=True, text=True, env=environment)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Colab: installing vae_tutorial" in first.stdout
    assert "Environment checked: torch" in first.stdout
    if shared.is_dir():
        assert "MNIST verified" in first.stdout
    again = subprocess.run([python, cell], capture_output=True, text=True, env=environment)
    assert again.returncode == 0 and "installing" not in again.stdout, again.stdout + again.stderr
