"""Shared test set-up: which data the tests and notebooks see, and nbval's MNIST dependency.

Tests never reach the internet: downloads are switched off (the download code is tested against
a local HTTP server). When the shared MNIST copy lies beside the project, tests and notebooks use
it; without it they run on the 8x8 digits, and what truly needs MNIST is skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.run_series import HEADLESS, REPRODUCIBLE_CPU

ROOT = Path(__file__).resolve().parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"

os.environ["VAE_TUTORIAL_OFFLINE"] = "1"
# Kernels started by the tests (nbval, papermill) compute as the committed outputs were computed,
# and show no progress bars.
for name, value in (REPRODUCIBLE_CPU | HEADLESS).items():
    os.environ.setdefault(name, value)
if "VAE_TUTORIAL_DATA" not in os.environ and (SHARED_MNIST / "SHA256SUMS").is_file():
    os.environ["VAE_TUTORIAL_DATA"] = str(SHARED_MNIST)


def mnist_folder() -> Path | None:
    """The MNIST folder the tests use, or None when there is none."""
    value = os.environ.get("VAE_TUTORIAL_DATA")
    return Path(value) if value and Path(value).is_dir() else None


NO_MNIST_REASON = (
    "needs the real MNIST files: set VAE_TUTORIAL_DATA or place them in ../shared/data/mnist"
)


def pytest_collection_modifyitems(config, items):
    import torch

    if not torch.cuda.is_available():
        skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none is visible to PyTorch")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip_gpu)
    if mnist_folder() is not None:
        return
    skip_mnist = pytest.mark.skip(reason=NO_MNIST_REASON)
    skip_nbval = pytest.mark.skip(
        reason="committed notebook outputs were produced on real MNIST; " + NO_MNIST_REASON
    )
    for item in items:
        if "mnist" in item.keywords:
            item.add_marker(skip_mnist)
        elif item.path.suffix == ".ipynb":
            item.add_marker(skip_nbval)
