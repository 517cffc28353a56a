"""vae_tutorial.utils: seeding, device choice, environment report (notebook 00)."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from vae_tutorial import environment_report, pick_device, seed_everything


def _draws():
    legacy_numpy = np.random.rand()  # noqa: NPY002 -- the global RNG is what gets seeded
    return random.random(), legacy_numpy, torch.rand(3).tolist()


def test_seed_everything_makes_every_generator_repeat():
    generator = seed_everything(7)
    first = _draws(), torch.rand(2, generator=generator).tolist()
    generator = seed_everything(7)
    assert (_draws(), torch.rand(2, generator=generator).tolist()) == first
    seed_everything(8)
    assert _draws() != first[0]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_seed_everything_refuses_non_integers(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(seed)


def test_auto_picks_the_best_available_device():
    expected = "cuda" if torch.cuda.is_available() else None
    device = pick_device("auto")
    if expected:
        assert device.type == expected
    else:
        assert device.type in {"mps", "cpu"}
    assert pick_device("cpu") == torch.device("cpu")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("gpu")


def test_missing_cuda_fails_clearly(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        pick_device("cuda")
    assert pick_device("auto").type in {"mps", "cpu"}


def test_environment_report_names_what_results_depend_on():
    report = environment_report(torch.device("cpu"))
    for key in ("python", "torch", "numpy", "device", "executable"):
        assert report[key]
    assert report["torch"] == torch.__version__ and report["device"] == "cpu"


@pytest.mark.gpu
def test_auto_picks_cuda_when_present():
    assert pick_device("auto").type == "cuda"
    report = environment_report()
    assert report["device"].startswith("cuda") and report["gpu"]
