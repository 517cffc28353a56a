"""The shared fixtures of tests/conftest.py do what they promise."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from vae_tutorial import VAE, VAEConfig

from .conftest import GLOBAL_SEED


def _draws() -> tuple:
    legacy_numpy = np.random.rand(3).tolist()  # noqa: NPY002 -- the global RNG is the subject
    return random.random(), legacy_numpy, torch.rand(3).tolist()


def _fresh_draws() -> tuple:
    python = random.Random(GLOBAL_SEED).random()
    numpy = np.random.RandomState(GLOBAL_SEED).rand(3).tolist()  # noqa: NPY002
    return (
        python,
        numpy,
        torch.rand(3, generator=torch.Generator().manual_seed(GLOBAL_SEED)).tolist(),
    )


# Run twice: without the fixture, the second run would see the generators the first one moved.
@pytest.mark.parametrize("run", [1, 2])
def test_every_test_starts_from_freshly_seeded_global_generators(run):
    assert _draws() == _fresh_draws()


def test_tiny_vae_is_seeded_and_its_batch_binary(tiny_vae):
    model, x = tiny_vae
    torch.manual_seed(0)
    reference = VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(16,), latent_dim=2))
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    assert x.shape == (6, 1, 8, 8) and set(x.unique().tolist()) == {0.0, 1.0}
    assert model(x)["mu"].shape == (6, 2)
