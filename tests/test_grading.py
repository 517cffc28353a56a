"""vae_tutorial.grading: hidden tests catch calls to the reference implementation."""

from __future__ import annotations

import pytest
import torch

import vae_tutorial
from vae_tutorial import MLPEncoder, gaussian_kl
from vae_tutorial.grading import forbid_calls


def own_kl(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1)


def test_own_code_passes():
    with forbid_calls(gaussian_kl):
        own_kl(torch.zeros(2, 3), torch.zeros(2, 3))


def test_calls_under_any_name_are_caught():
    alias = vae_tutorial.elbo.gaussian_kl
    with pytest.raises(AssertionError, match="gaussian_kl"):
        with forbid_calls(gaussian_kl):
            alias(torch.zeros(2, 3), torch.zeros(2, 3))


def test_module_classes_are_watched_through_forward():
    encoder = MLPEncoder((1, 4, 4), (4,), 2)
    with pytest.raises(AssertionError, match="write it yourself"):
        with forbid_calls(MLPEncoder):
            encoder(torch.rand(1, 1, 4, 4))


def test_the_previous_profiler_is_restored():
    import sys

    before = sys.getprofile()
    with forbid_calls(gaussian_kl):
        pass
    assert sys.getprofile() is before


def test_non_python_functions_are_refused():
    with pytest.raises(TypeError, match="not a Python function"):
        with forbid_calls(torch.exp):
            pass
