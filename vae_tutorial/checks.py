"""Input checks shared by every module: each says what is wrong and what to do about it.

Introduced in notebook 00. A mistake in shape, dtype or range otherwise shows up much later,
as a broadcasting error deep inside a loss or as a silently wrong number.
"""

from __future__ import annotations

import torch


def check_positive_int(value: object, name: str) -> None:
    """Fail unless ``value`` is an int >= 1 (``True`` is not a count).

    Introduced in notebook 00.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_non_negative_int(value: object, name: str) -> None:
    """Fail unless ``value`` is an int >= 0, e.g. a seed.

    Introduced in notebook 00.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_float_tensor(value: object, name: str, fix: str = "") -> None:
    """Fail unless ``value`` is a floating-point ``torch.Tensor``.

    Introduced in notebook 00. :param fix: what to do instead, e.g. ``"x.float() / 255"``.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        fix = fix or f"{name}.float()"
        raise TypeError(f"{name} must be floating point, got {value.dtype}; use {fix}")


def check_images(images: object, name: str = "images") -> None:
    """Fail unless ``images`` is a float tensor (batch, 1, height, width) in [0, 1].

    Introduced in notebook 00.
    """
    check_float_tensor(images, name, f"{name}.float() / 255")
    if images.dim() != 4 or images.shape[1] != 1:
        raise ValueError(
            f"{name} must have shape (batch, 1, height, width), got {tuple(images.shape)}; "
            "add the channel axis with images.unsqueeze(1)"
        )
    check_unit_range(images, name)


def check_unit_range(x: torch.Tensor, name: str = "x") -> None:
    """Fail unless every value of x lies in [0, 1] (NaN does not).

    Introduced in notebook 00.
    """
    if x.numel() == 0:
        return
    low, high = torch.aminmax(x)
    if not (low >= 0 and high <= 1):  # written so that NaN fails too
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{low.item():.3g}, {high.item():.3g}]; "
            "scale the images (x / 255) and binarize them, and check for NaN"
        )


def check_batch(x: object, image_shape: tuple[int, ...], name: str = "x") -> None:
    """Fail unless x is a float tensor of shape (batch, *image_shape).

    Introduced in notebook 01.
    """
    check_float_tensor(x, name, f"{name}.float() / 255")
    if x.dim() != len(image_shape) + 1 or tuple(x.shape[1:]) != tuple(image_shape):
        raise ValueError(
            f"{name} must have shape (batch, {', '.join(map(str, image_shape))}), "
            f"got {tuple(x.shape)}"
        )


def check_same_shape(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    """Fail unless the two parameters of a diagonal Gaussian have one shape.

    Introduced in notebook 01.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must match")


def check_latent(z: object, latent_dim: int) -> None:
    """Fail unless z is a float tensor (..., batch, latent_dim).

    Introduced in notebook 03.
    """
    check_float_tensor(z, "z")
    if z.dim() < 2 or z.shape[-1] != latent_dim:
        raise ValueError(f"z must have shape (..., batch, {latent_dim}), got {tuple(z.shape)}")
