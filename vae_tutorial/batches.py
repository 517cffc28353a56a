"""Binarization and fast seeded minibatches. Introduced in notebook 00.

A Bernoulli decoder models binary pixels, so grey levels are turned into binary images by
sampling: each pixel is 1 with probability equal to its grey level (binarization).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import torch

from .checks import check_images, check_positive_int
from .data import DigitData, Split
from .utils import run_generator

BINARIZATIONS = ("dynamic", None)
UNIFORM_BITS = 24  # random bits per uniform draw, as in torch.rand for float32
UNIFORM_MASK = (1 << UNIFORM_BITS) - 1
UNIFORM_SCALE = float(1 << UNIFORM_BITS)


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sample binary pixels: each pixel is 1 with probability equal to its grey level.

    Introduced in notebook 00. Applied afresh to every batch this is *dynamic* binarization
    (Burda, Grosse & Salakhutdinov 2016); applied once to the data set it is *static*.

    :param images: (batch, 1, height, width) in [0, 1].
    :return: same shape and dtype, values in {0, 1}; its expectation is ``images``.
    """
    check_images(images)
    return _bernoulli_pixels(images, generator)


def uniform_bits(shape: torch.Size, generator: torch.Generator | None = None) -> torch.Tensor:
    """Integers k uniform on [0, 2^24), one per pixel, on the CPU: k / 2^24 is what torch.rand
    draws for float32, drawn faster (209 against 385 us for a batch of 128 MNIST images).

    Introduced in notebook 00. ``torch.rand`` turns 24 random bits into each float32, one call of
    the CPU's serial generator per value. Drawing 64-bit integers and keeping 24 bits of each
    32-bit half gives the same distribution with half the calls and no float conversion.

    :return: int32, of the given shape.
    """
    n = math.prod(shape)
    words = torch.empty((n + 1) // 2, dtype=torch.int64)
    words.random_(generator=generator)  # uniform on [0, 2^63): every bit but the top one random
    return words.view(torch.int32)[:n].view(shape).bitwise_and_(UNIFORM_MASK)


def _bernoulli_pixels(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    # A pixel is 1 when a uniform draw u in [0, 1) falls below its grey level p: P(u < p) = p,
    # the distribution of torch.bernoulli, and faster (benchmarks/RESULTS.md, notes). The in-place
    # comparisons write 1.0 or 0.0 straight into a float tensor.
    if images.device.type != "cpu":  # accelerators' generators are fast and parallel
        u = torch.rand(images.shape, generator=generator, dtype=images.dtype, device=images.device)
        return u.lt_(images)
    # u = k / 2^24 < p exactly when p * 2^24 > k, computed exactly in float32 (a power of 2).
    return (images * UNIFORM_SCALE).gt_(uniform_bits(images.shape, generator))


def validation_images(data: DigitData, seed: int = 0, device=None) -> torch.Tensor:
    """The validation images, binarized once with the run's ``"validation"`` generator.

    Introduced in notebook 05. Every evaluation of a run (``fit``'s per-epoch validation ELBO,
    the notebooks' comparisons, the benchmark) scores these same binary images.

    :return: (n_validation, 1, height, width), on ``device``.
    """
    images = binarize(data.validation.images, run_generator(seed, "validation"))
    return images.to(device) if device is not None else images


def binarize_static(data: DigitData, seed: int = 0) -> DigitData:
    """A copy of ``data`` binarized once, with a seeded generator, the same on every run.

    Introduced in notebook 00.
    """
    generator = torch.Generator().manual_seed(seed)
    splits = {
        part: replace(getattr(data, part), images=binarize(getattr(data, part).images, generator))
        for part in ("train", "validation", "test")
    }
    return replace(data, **splits)


class Batches:
    """Seeded minibatches drawn from whole tensors (no per-sample Python, no DataLoader workers).

    Introduced in notebook 00. Each pass over it is one epoch; successive epochs are shuffled
    differently, but the sequence of epochs is the same for the same seed.

    :param split: the images (n, 1, height, width) and labels (n,) to draw from.
    :param binarize: ``"dynamic"`` re-samples binary pixels for every batch; ``None`` keeps
        the grey levels.
    :param drop_last: skip a final batch smaller than ``batch_size``.
    :param device: where the batches live; the split is copied there once.
    Yields ``(x, labels)``: x of shape (batch, 1, height, width), labels of shape (batch,).
    """

    def __init__(
        self,
        split: Split,
        batch_size: int = 128,
        *,
        shuffle: bool = True,
        binarize: str | None = "dynamic",
        seed: int = 0,
        drop_last: bool = False,
        device: torch.device | str | None = None,
    ) -> None:
        check_positive_int(batch_size, "batch_size")
        if binarize not in BINARIZATIONS:
            raise ValueError(f"binarize must be one of {BINARIZATIONS}, got {binarize!r}")
        if drop_last and len(split) < batch_size:
            raise ValueError(
                f"drop_last=True with {len(split)} examples and batch_size={batch_size} "
                "would yield no batch"
            )
        device = torch.device(device) if device is not None else split.images.device
        self.images = split.images.to(device)
        self.labels = split.labels.to(device)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.binarize = binarize
        self.drop_last = drop_last
        self.order_generator = run_generator(seed, "order")
        self.pixel_generator = run_generator(seed, "pixels", device)

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self.order_generator).to(self.images.device)
        else:
            order = torch.arange(n, device=self.images.device)
        for batch in range(len(self)):
            index = order[batch * self.batch_size : (batch + 1) * self.batch_size]
            x = self.images.index_select(0, index)
            if self.binarize == "dynamic":
                x = _bernoulli_pixels(x, self.pixel_generator)  # checked once, in Split
            yield x, self.labels.index_select(0, index)
