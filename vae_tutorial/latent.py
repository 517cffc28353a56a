"""The learned latent space: grids, paths and distances. Notebook 07.

A VAE generates by decoding z ~ p(z) = N(0, I). These helpers choose the z's to decode: a grid
at the prior's quantiles, straight (linear) and spherical paths between two codes, one latent
unit moved at a time; and measure how far a code lies from every other. The interactive
explorer is in ``explorer``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# Below this sin(angle) two codes count as collinear, and slerp falls back to lerp.
COLLINEAR = 1e-6


def prior_grid(n: int, latent_dim: int = 2) -> torch.Tensor:
    """A square grid of 2-D latent points at the quantiles of N(0, 1) in each coordinate.

    Introduced in notebook 07. Coordinate values are Phi^{-1}((i + 1/2) / n), i = 0, ..., n - 1,
    so each grid cell holds the same prior mass (1 / n^2) rather than the same area. Points are
    in reading order for an image grid: rows from the top (z_2 largest) to the bottom, each row
    from left (z_1 smallest) to right.

    :return: (n * n, 2).
    """
    if latent_dim != 2:
        raise ValueError(f"a grid over the latent plane needs latent_dim = 2, got {latent_dim}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    levels = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    values = torch.distributions.Normal(0.0, 1.0).icdf(levels).float()  # increasing
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")
    return torch.stack([z1, z2], dim=-1).reshape(n * n, 2)


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> None:
    if z0.shape != z1.shape:
        raise ValueError(f"z0 {tuple(z0.shape)} and z1 {tuple(z1.shape)} must have one shape")


def _steps(t: torch.Tensor | Sequence[float] | float, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.reshape(-1, *([1] * like.dim()))  # (steps, 1, ..., 1)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Linear interpolation (1 - t) z0 + t z1.

    Introduced in notebook 07.

    :param z0, z1: (..., latent_dim), e.g. (latent_dim,) or (batch, latent_dim).
    :param t: (steps,), 0 gives z0 and 1 gives z1.
    :return: (steps, ..., latent_dim).
    """
    _check_pair(z0, z1)
    t = _steps(t, z0)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Spherical linear interpolation (Shoemake 1985), as White (2016) uses it for latent codes.

    Introduced in notebook 07. With omega the angle between z0 and z1,

        slerp(z0, z1; t) = sin((1 - t) omega) / sin(omega) z0 + sin(t omega) / sin(omega) z1.

    For |z0| = |z1| the path keeps that norm and turns at a constant rate (the angle to z0 is
    t omega). For unequal norms it leaves the sphere, and when z0 and z1 point in nearly
    opposite directions (sin(omega) small) its norm can grow far beyond both. Where z0 and z1 are
    collinear (sin(omega) < 1e-6: the same or opposite directions, or a zero vector) no unique
    great circle exists and the result is ``lerp``.

    :param z0, z1: (..., latent_dim). :param t: (steps,).
    :return: (steps, ..., latent_dim).
    """
    _check_pair(z0, z1)
    t = _steps(t, z0)
    norms = z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True)
    cosine = ((z0 * z1).sum(-1, keepdim=True) / norms.clamp(min=1e-30)).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine)  # (..., 1)
    sine = torch.sin(omega)
    collinear = (sine < COLLINEAR) | (norms == 0)
    safe = torch.where(collinear, torch.ones_like(sine), sine)
    spherical = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / safe
    return torch.where(collinear, lerp(z0, z1, t.flatten()), spherical)


def nearest_distance(
    queries: torch.Tensor, codes: torch.Tensor, batch_size: int = 1024, exclude_self=False
) -> torch.Tensor:
    """Euclidean distance from each query to its nearest code: how far into a "hole" it lies.

    Introduced in notebook 07.

    :param queries: (m, latent_dim). :param codes: (n, latent_dim).
    :param exclude_self: queries are the codes themselves; skip each one's zero distance.
    :return: (m,).
    """
    if exclude_self and queries.shape != codes.shape:
        raise ValueError("exclude_self needs the queries to be the codes")
    nearest = []
    for start in range(0, len(queries), batch_size):
        distances = torch.cdist(queries[start : start + batch_size], codes)
        if exclude_self:
            rows = torch.arange(len(distances), device=distances.device)
            distances[rows, rows + start] = float("inf")
        nearest.append(distances.min(dim=1).values)
    return torch.cat(nearest)


def traversal(z: torch.Tensor, values: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """Copies of one code with a single latent unit moved through ``values``, unit by unit.

    Introduced in notebook 07. Row j holds z with z_j replaced by each value in turn.

    :param z: (latent_dim,). :param values: (steps,).
    :return: (latent_dim, steps, latent_dim).
    """
    if z.dim() != 1:
        raise ValueError(f"z must have shape (latent_dim,), got {tuple(z.shape)}")
    values = torch.as_tensor(values, dtype=z.dtype, device=z.device)
    latent_dim, steps = len(z), len(values)
    codes = z.expand(latent_dim, steps, latent_dim).clone()
    units = torch.arange(latent_dim, device=z.device)
    codes[units, :, units] = values
    return codes
