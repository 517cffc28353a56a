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


def _pretend(monkeypatch, cuda: bool, mps: bool) -> None:
    """Make PyTorch report CUDA and Apple MPS as present or not, whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize(
    "cuda, mps, expected",
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    _pretend(monkeypatch, cuda=cuda, mps=mps)
    assert pick_device("auto") == torch.device(expected)
    assert pick_device("cpu") == torch.device("cpu")


def test_a_device_asked_for_by_name_is_returned_when_present(monkeypatch):
    _pretend(monkeypatch, cuda=True, mps=True)
    assert pick_device("cuda") == torch.device("cuda")
    assert pick_device("mps") == torch.device("mps")


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("gpu")


def test_a_missing_device_fails_clearly(monkeypatch):
    _pretend(monkeypatch, cuda=False, mps=False)
    with pytest.raises(RuntimeError, match=r"no CUDA GPU.*Use device='auto' or 'cpu'"):
        pick_device("cuda")
    with pytest.raises(RuntimeError, match=r"MPS backend is not available.*Use device='auto'"):
        pick_device("mps")


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


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, False),
        ({"VAE_TUTORIAL_HEADLESS": "1"}, True),
        ({"NBGRADER_EXECUTION": "autograde"}, True),
    ],
)
def test_headless_names_the_runs_that_nobody_watches(monkeypatch, variables, expected):
    from vae_tutorial import headless

    monkeypatch.delenv("VAE_TUTORIAL_HEADLESS", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert headless() is expected
