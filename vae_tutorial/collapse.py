"""Posterior collapse: how many latent units a model uses. Notebook 05.

A latent unit whose posterior mean does not change with the image carries no information about
it; its KL can then fall to 0 (its q(z_j | x) equals the prior), and the unit is *inactive*.
Burda, Grosse & Salakhutdinov (2016, Section 5.2) count active units with the activity below.
"""

from __future__ import annotations

import torch

ACTIVITY_THRESHOLD = 0.01  # Burda et al. (2016): units with A_u above it are active


def unit_activity(mu: torch.Tensor) -> torch.Tensor:
    """Burda, Grosse & Salakhutdinov (2016): A_u = Cov_x(E_q[z_u | x]), one value per unit.

    Introduced in notebook 05. The variance over images (denominator n - 1) of each unit's
    posterior mean: a unit whose mean does not change with x carries no information about x.

    :param mu: (n, latent_dim), the encoder means of n images.
    :return: (latent_dim,).
    """
    if mu.dim() != 2 or len(mu) < 2:
        raise ValueError(f"mu must have shape (n, latent_dim) with n >= 2, got {tuple(mu.shape)}")
    return mu.var(dim=0, correction=1)


def active_units(mu: torch.Tensor, threshold: float = ACTIVITY_THRESHOLD) -> int:
    """The number of latent units with activity A_u > threshold (Burda et al. 2016 use 0.01).

    Introduced in notebook 05. :param mu: (n, latent_dim).
    """
    return int((unit_activity(mu) > threshold).sum())
