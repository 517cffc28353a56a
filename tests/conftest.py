from __future__ import annotations

import pytest

from . import idx_files


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
