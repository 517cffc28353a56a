"""vae_tutorial.data: loading, splits, binarization and batches (notebook 00)."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
import torch

from vae_tutorial import Split, load_data, mnist
from vae_tutorial.data import DatasetFallbackWarning, check_images, locate_mnist

from . import idx_files


def _rows(images: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in images.flatten(1)}


# --- the 8x8 digits ----------------------------------------------------------------------------


def test_digits_splits_are_disjoint_and_cover_the_data_set():
    data = load_data("digits", verbose=False)
    assert data.name == "digits" and data.image_shape == (1, 8, 8) and data.image_dim == 64
    sizes = [len(data.train), len(data.validation), len(data.test)]
    assert sum(sizes) == 1797
    assert len(data.test) == round(1797 * 0.2)
    parts = [data.train, data.validation, data.test]
    for split in parts:
        assert split.images.dtype == torch.float32 and split.labels.dtype == torch.int64
        assert 0 <= split.images.min() and split.images.max() == 1
    # Seeded permutations of the same 1,797 images: counts per label add up exactly.
    from sklearn.datasets import load_digits

    target = np.bincount(load_digits().target, minlength=10)
    got = sum(torch.bincount(p.labels, minlength=10) for p in parts).numpy()
    np.testing.assert_array_equal(got, target)


def test_digits_split_is_seeded():
    a, b = load_data("digits", seed=3, verbose=False), load_data("digits", seed=3, verbose=False)
    c = load_data("digits", seed=4, verbose=False)
    assert torch.equal(a.train.images, b.train.images)
    assert not torch.equal(a.train.images, c.train.images)


def test_load_data_says_which_data_set_it_used(capsys):
    load_data("digits")
    assert capsys.readouterr().out.startswith("Using digits:")


@pytest.mark.parametrize("bad", ["MNIST", "cifar", ""])
def test_unknown_dataset_is_refused(bad):
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_data(bad)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_validation_fraction_must_be_a_proper_fraction(fraction):
    with pytest.raises(ValueError, match="validation_fraction"):
        load_data("digits", validation_fraction=fraction)


# --- finding MNIST and falling back -----------------------------------------------------------


def test_auto_without_mnist_falls_back_to_digits_with_a_warning(no_mnist, capsys):
    with pytest.warns(DatasetFallbackWarning, match="8x8 digits"):
        data = load_data("auto")
    assert data.name == "digits"
    assert "Using digits" in capsys.readouterr().out


def test_mnist_without_any_copy_says_what_to_do(no_mnist):
    with pytest.raises(mnist.MnistUnavailableError, match="VAE_TUTORIAL_DATA"):
        load_data("mnist")


def test_a_named_folder_is_used_and_split(tiny_mnist):
    folder, contents = tiny_mnist
    data = load_data("mnist", root=folder, validation_fraction=1 / 6, verbose=False)
    assert data.name == "mnist" and data.image_shape == (1, 28, 28)
    assert (len(data.train), len(data.validation), len(data.test)) == (25, 5, 12)
    train_pixels = np.frombuffer(contents[idx_files.NAMES[0]], np.uint8, offset=16).reshape(30, 784)
    expected = {(row.astype(np.float32) / 255).tobytes() for row in train_pixels}
    assert _rows(data.train.images) | _rows(data.validation.images) == expected
    np.testing.assert_array_equal(data.test.labels.numpy(), np.arange(12) % 10)


def test_the_environment_variable_names_the_folder(tiny_mnist, monkeypatch):
    folder, _ = tiny_mnist
    monkeypatch.setenv("VAE_TUTORIAL_DATA", str(folder))
    assert locate_mnist() == folder
    assert load_data("auto", verbose=False).name == "mnist"


def test_decompressed_files_are_accepted(tmp_path, monkeypatch):
    contents = idx_files.tiny_mnist()
    monkeypatch.setattr(mnist, "MNIST_SHA256", idx_files.checksums(contents))
    folder = idx_files.write_folder(tmp_path / "raw", contents, gzipped=False)
    assert len(load_data("mnist", root=folder, verbose=False).test) == 12


def test_a_named_folder_missing_a_file_fails_clearly(tiny_mnist):
    folder, _ = tiny_mnist
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_data("auto", root=folder)


def test_a_corrupt_file_is_never_trusted(tiny_mnist):
    folder, contents = tiny_mnist
    corrupted = bytearray(contents["train-images-idx3-ubyte"])
    corrupted[100] ^= 0xFF
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bytes(corrupted)))
    with pytest.raises(mnist.ChecksumError, match="checksum"):
        load_data("auto", root=folder)


def test_the_cache_is_used_when_nothing_is_named(tiny_mnist, monkeypatch, tmp_path):
    folder, contents = tiny_mnist
    monkeypatch.delenv("VAE_TUTORIAL_DATA", raising=False)
    monkeypatch.setenv("VAE_TUTORIAL_CACHE", str(tmp_path / "cache"))
    idx_files.write_folder(tmp_path / "cache" / "mnist", contents)
    assert locate_mnist(download=False) == tmp_path / "cache" / "mnist"


# --- the real MNIST ---------------------------------------------------------------------------


@pytest.mark.mnist
def test_real_mnist_matches_its_published_statistics():
    data = load_data("mnist", verbose=False)
    assert data.source == os.environ["VAE_TUTORIAL_DATA"]
    official_train = torch.cat([data.train.labels, data.validation.labels])
    # Label counts from the data set's README in ../shared/data/mnist.
    assert torch.bincount(official_train).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949,
    ]  # fmt: skip
    assert torch.bincount(data.test.labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009,
    ]  # fmt: skip
    pixels = torch.cat([data.train.images, data.validation.images])
    assert pixels.mean().item() == pytest.approx(0.1307, abs=5e-5)
    assert pixels.std().item() == pytest.approx(0.3081, abs=5e-5)
    assert (len(data.train), len(data.validation), len(data.test)) == (50_000, 10_000, 10_000)


# --- checks on images -------------------------------------------------------------------------


def test_check_images_explains_each_mistake():
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_images(np.zeros((1, 1, 2, 2)))
    with pytest.raises(TypeError, match="/ 255"):
        check_images(torch.zeros(1, 1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unsqueeze"):
        check_images(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_images(torch.full((1, 1, 2, 2), 1.5))


def test_split_checks_labels_against_images():
    with pytest.raises(ValueError, match="labels must have shape"):
        Split(torch.zeros(4, 1, 2, 2), torch.zeros(3, dtype=torch.int64))


def test_subset_keeps_the_first_examples_of_the_named_splits():
    data = load_data("digits", verbose=False)
    small = data.subset(100, n_validation=20)
    assert (len(small.train), len(small.validation), len(small.test)) == (100, 20, len(data.test))
    assert torch.equal(small.train.images, data.train.images[:100])
    assert torch.equal(small.validation.labels, data.validation.labels[:20])
    assert len(data.subset(10**6).train) == len(data.train)  # more than there are: all of them
    with pytest.raises(ValueError, match="positive integer"):
        data.subset(0)
