"""Fixtures shared by the test files (the project-wide set-up is in ../conftest.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from . import idx_files
from .browser import chromium

GLOBAL_SEED = 0


@pytest.fixture(autouse=True)
def seed_global_rngs():
    """Seed Python's, NumPy's and PyTorch's global generators before every test.

    A test that draws from a global generator then sees the same numbers whichever tests ran
    before it, so results do not depend on test order or on running one test alone.
    """
    random.seed(GLOBAL_SEED)
    np.random.seed(GLOBAL_SEED)  # noqa: NPY002 -- the legacy global RNG is what gets seeded
    torch.manual_seed(GLOBAL_SEED)


@pytest.fixture
def tiny_vae():
    """A small seeded VAE on 8x8 images and a batch of 6 binary 8x8 images: ``(model, x)``.

    For tests that need some model, not a particular one: 64-16-2, Bernoulli decoder, weights
    from seed 0; x: (6, 1, 8, 8), each pixel on with probability 0.3, from seed 1.
    """
    from vae_tutorial import VAE, VAEConfig

    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(16,), latent_dim=2))
    x = torch.bernoulli(torch.full((6, 1, 8, 8), 0.3), generator=torch.Generator().manual_seed(1))
    return model, x


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A folder of tiny MNIST-format files that the package accepts as MNIST."""
    from vae_tutorial import mnist

    contents = idx_files.tiny_mnist()
    monkeypatch.setattr(mnist, "MNIST_SHA256", idx_files.checksums(contents))
    return idx_files.write_folder(tmp_path / "tiny_mnist", contents), contents


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """No MNIST anywhere: no folder named, an empty cache, downloads off."""
    monkeypatch.delenv("VAE_TUTORIAL_DATA", raising=False)
    monkeypatch.setenv("VAE_TUTORIAL_CACHE", str(tmp_path / "empty_cache"))
    monkeypatch.setenv("VAE_TUTORIAL_OFFLINE", "1")


# Headless Chromium for the browser tests (test_browser.py, test_site.py): Debian's package,
# installed with apt-get when missing and we are root; without it the tests skip with the reason.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    found, why = chromium.find_or_install()
    if found is None:
        pytest.skip(f"no Chromium for the browser test: {why}")
    return found


@pytest.fixture(scope="session")
def browser(chromium_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()
