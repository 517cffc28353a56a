"""Digit images as in-memory tensors, with train, validation and test splits.

Introduced in notebook 00. ``load_data("auto")`` gives MNIST when it can be had (a folder you name,
``$VAE_TUTORIAL_DATA``, the download cache, or a verified download) and otherwise scikit-learn's
bundled 8x8 digits, which need no network, saying which it used.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from . import mnist
from .checks import check_images, check_positive_int

DATASETS = ("auto", "mnist", "digits")


class DatasetFallbackWarning(UserWarning):
    """``dataset="auto"`` could not get MNIST and is using the 8x8 digits instead."""


@dataclass(frozen=True)
class Split:
    """One part of a data set.

    Introduced in notebook 00.

    :param images: shape (n, 1, height, width), float32 in [0, 1].
    :param labels: shape (n,), int64 digit classes 0-9.
    """

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        check_images(self.images)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    def first(self, n: int) -> Split:
        """The first n examples (all of them if there are fewer); the splits are shuffled.

        Introduced in notebook 05.
        """
        check_positive_int(n, "n")
        return Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class DigitData:
    """A data set split into train, validation (held out from training) and test.

    Introduced in notebook 00."""

    name: str  # "mnist" or "digits"
    source: str  # where the images came from, in words
    train: Split
    validation: Split
    test: Split

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(1, height, width): (1, 28, 28) for MNIST, (1, 8, 8) for the digits."""
        return tuple(self.train.images.shape[1:])

    @property
    def image_dim(self) -> int:
        """Pixels per image: height * width."""
        return int(np.prod(self.image_shape))

    def subset(
        self, n_train: int, n_validation: int | None = None, n_test: int | None = None
    ) -> DigitData:
        """The same data with only the first examples of each split (None keeps a split whole).

        Introduced in notebook 05: smaller runs train on the first n_train images.
        """
        sizes = {"train": n_train, "validation": n_validation, "test": n_test}
        firsts = {name: getattr(self, name).first(n) for name, n in sizes.items() if n is not None}
        return replace(self, **firsts)

    def describe(self) -> str:
        _, height, width = self.image_shape
        return (
            f"{self.name}: {len(self.train)} train / {len(self.validation)} validation / "
            f"{len(self.test)} test images of {height}x{width} pixels, from {self.source}"
        )


def _to_split(images: np.ndarray, labels: np.ndarray, scale: float) -> Split:
    x = torch.from_numpy(images.astype(np.float32)).div_(scale).unsqueeze(1)  # astype copies
    return Split(x, torch.from_numpy(labels.astype(np.int64)))


def _validation_count(n: int, fraction: float) -> int:
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must lie in (0, 1), got {fraction}")
    return max(1, round(n * fraction))


def _hold_out(
    images: np.ndarray, labels: np.ndarray, fraction: float, seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split off a seeded random ``fraction`` of the examples: (kept, held_out)."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_held = _validation_count(len(images), fraction)
    kept, held = order[:-n_held], order[-n_held:]
    return (images[kept], labels[kept]), (images[held], labels[held])


def _find_mnist(root: Path | str | None, download: bool | None) -> tuple[Path, dict[str, bytes]]:
    """The folder of verified MNIST files and their decompressed contents (see locate_mnist)."""
    named = root if root is not None else os.environ.get("VAE_TUTORIAL_DATA") or None
    if named is not None:
        folder = Path(named).expanduser()
        return folder, mnist.read_verified(folder)  # raises with the reason if unusable
    cache = mnist.default_cache_dir() / "mnist"
    try:
        return cache, mnist.read_verified(cache)
    except (FileNotFoundError, mnist.ChecksumError):
        pass
    if download is None:
        download = not os.environ.get("VAE_TUTORIAL_OFFLINE")
    if not download:
        raise mnist.MnistUnavailableError(
            f"MNIST is not in {cache} and downloading is off. Set VAE_TUTORIAL_DATA to a folder "
            "holding the four MNIST IDX files, allow the download, or use dataset='digits'."
        )
    return cache, mnist.read_verified(mnist.download(cache))


def locate_mnist(root: Path | str | None = None, *, download: bool | None = None) -> Path:
    """The folder of verified MNIST files.

    Looked for in order: ``root``, ``$VAE_TUTORIAL_DATA``, the cache, then a download into the
    cache (unless ``download`` is False or ``$VAE_TUTORIAL_OFFLINE`` is set).

    Introduced in notebook 00.

    :raises FileNotFoundError, mnist.ChecksumError: a folder you named is missing files or corrupt.
    :raises mnist.MnistUnavailableError: no copy and no download; the message says what to do.
    """
    return _find_mnist(root, download)[0]


def _load_mnist(
    folder: Path, raw: dict[str, bytes], validation_fraction: float, seed: int
) -> DigitData:
    arrays = mnist.parse_arrays(raw)
    kept, held = _hold_out(
        arrays["train_images"], arrays["train_labels"], validation_fraction, seed
    )
    return DigitData(
        name="mnist",
        source=str(folder),
        train=_to_split(*kept, scale=255.0),
        validation=_to_split(*held, scale=255.0),
        test=_to_split(arrays["test_images"], arrays["test_labels"], scale=255.0),
    )


DIGITS_TEST_FRACTION = 0.2  # the 8x8 digits have no official test set


def _load_digits(validation_fraction: float, seed: int) -> DigitData:

    bunch = load_digits()
    images = bunch.images.astype(np.float32)  # (1797, 8, 8), grey levels 0..16
    rest, test = _hold_out(images, bunch.target, DIGITS_TEST_FRACTION, seed)
    kept, held = _hold_out(*rest, validation_fraction, seed + 1)
    return DigitData(
        name="digits",
        source="scikit-learn's bundled 8x8 digits (UCI optical digits, 1,797 images)",
        train=_to_split(*kept, scale=16.0),
        validation=_to_split(*held, scale=16.0),
        test=_to_split(*test, scale=16.0),
    )


def load_data(
    dataset: str = "auto",
    root: Path | str | None = None,
    *,
    validation_fraction: float = 1 / 6,
    seed: int = 0,
    download: bool | None = None,
    verbose: bool = True,
) -> DigitData:
    """Load digit images as in-memory tensors with a held-out validation split.

    Introduced in notebook 00.

    :param dataset: ``"mnist"``, ``"digits"`` (scikit-learn's 8x8, no network needed) or
        ``"auto"``: MNIST when it can be had, else the digits, with a warning saying why.
    :param root: a folder holding the MNIST files; default ``$VAE_TUTORIAL_DATA``, then the cache.
    :param validation_fraction: share of the training images held out for validation
        (MNIST: 10,000 of 60,000 by default). The test set stays untouched.
    :param seed: seeds the validation split (and the digits' test split).
    :param download: allow a download into the cache; default: unless ``$VAE_TUTORIAL_OFFLINE``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    _validation_count(1, validation_fraction)
    if dataset == "digits":
        data = _load_digits(validation_fraction, seed)
    else:
        try:
            folder, raw = _find_mnist(root, download)
        except mnist.MnistUnavailableError as err:
            if dataset == "mnist":
                raise
            warnings.warn(
                f"MNIST is not available, so this run uses scikit-learn's 8x8 digits instead. "
                f"Figures and numbers will differ from the published ones.\n{err}",
                DatasetFallbackWarning,
                stacklevel=2,
            )
            data = _load_digits(validation_fraction, seed)
        else:
            data = _load_mnist(folder, raw, validation_fraction, seed)
    if verbose:
        print(f"Using {data.describe()}")
    return data
