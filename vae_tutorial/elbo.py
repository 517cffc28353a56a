"""The loss: the evidence lower bound (ELBO), its KL term, and its units. Notebook 04.

For any q(z | x),  log p(x) = ELBO + KL(q(z | x) || p(z | x)) >= ELBO, with

    ELBO = E_q(z|x)[log p(x | z)] - KL(q(z | x) || p(z)).

Reductions are explicit everywhere: sums over pixels and over latent units (they are parts of
one log-probability), a mean over the batch (an average over data points). Averaging over pixels
or latent units instead silently rescales one term against the other, a hidden beta.
"""

from __future__ import annotations

import math

import torch

from .checks import check_same_shape
from .reparameterization import reparameterize


def gaussian_kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_j, exp(logvar_j)) || N(0, 1)) of each latent unit j, not summed.

    Introduced in notebook 04. Per unit: 1/2 (mu^2 + sigma^2 - 1 - log sigma^2)
    (Kingma & Welling 2014, Appendix B).

    :param mu, logvar: (..., latent_dim). :return: (..., latent_dim), nats.
    """
    check_same_shape(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent units.

    Introduced in notebook 04.

    :param mu, logvar: (..., latent_dim).
    :return: (...,), e.g. (batch,).
    """
    return gaussian_kl_per_unit(mu, logvar).sum(-1)


def elbo_terms(
    model: torch.nn.Module,
    x: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The ELBO of each image and its two terms, with z sampled from q(z | x) (never z = mu).

    Introduced in notebook 04. The one place the loss is computed: ``negative_elbo`` (which
    trains), ``training.evaluate``, the weight-space landscape and the benchmark all call it.

    :param model: has ``encoder(x) -> (mu, logvar)`` and ``decoder.log_prob(x, z)``.
    :param x: (batch, 1, height, width).
    :param n_samples: samples of z averaged in the reconstruction term.
    :param generator: draws the noise eps of z = mu + sigma * eps.
    :param eps: or the noise itself, (n_samples, batch, latent_dim): the same eps makes the ELBO
        a deterministic function of the weights ("common random numbers").
    :return: per image, each (batch,), in nats: ``reconstruction`` = E_q[log p(x | z)],
        ``kl`` = KL(q(z | x) || p(z)) and ``elbo`` = reconstruction - kl; and ``kl_per_unit``,
        (batch, latent_dim).
    """
    mu, logvar = model.encoder(x)
    # One sample needs no sample axis: z (batch, latent_dim) is the same draw as (1, batch, ...).
    samples = None if n_samples == 1 else n_samples
    z = reparameterize(mu, logvar, samples, generator, eps)  # ([samples,] batch, latent_dim)
    reconstruction = model.decoder.log_prob(x, z)
    if reconstruction.dim() > 1:
        reconstruction = reconstruction.mean(0)  # Monte Carlo average over the samples of z
    kl_per_unit = gaussian_kl_per_unit(mu, logvar)
    kl = kl_per_unit.sum(-1)
    return {
        "reconstruction": reconstruction,
        "kl": kl,
        "elbo": reconstruction - kl,
        "kl_per_unit": kl_per_unit,
    }


def free_bits_penalty(kl_per_unit: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL penalty with free bits (Kingma et al. 2016, Appendix C.8).

    Introduced in notebook 05. Each latent unit's KL, averaged over the batch, is penalised only
    above ``free_bits`` nats: sum_j max(free_bits, mean_batch KL_j). With free_bits = 0 it is
    the batch mean of the KL.

    :param kl_per_unit: (batch, latent_dim). :return: a scalar, nats per image.
    """
    return kl_per_unit.mean(0).clamp(min=free_bits).sum()


def negative_elbo(
    model: torch.nn.Module,
    x: torch.Tensor,
    beta: float = 1.0,
    free_bits: float = 0.0,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training loss: mean over the batch of -(reconstruction - beta * KL), in nats.

    Introduced in notebook 04; ``training.fit`` minimises it. beta = 1 is the VAE's ELBO; other
    values weight the KL term (Higgins et al. 2017): beta > 1 gives a looser lower bound on
    log p(x), beta < 1 no bound. ``free_bits`` > 0 replaces the KL by ``free_bits_penalty``
    (notebook 05).

    :return: the scalar loss and the batch means of ``reconstruction``, ``kl`` and ``elbo``
        (detached 0-d tensors, for logging without a host synchronisation).
    """
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if not free_bits >= 0:
        raise ValueError(f"free_bits must be >= 0, got {free_bits}")
    terms = elbo_terms(model, x, n_samples, generator, eps)
    reconstruction = terms["reconstruction"].mean()  # sum over pixels, mean over the batch
    kl = terms["kl"].mean()
    penalty = free_bits_penalty(terms["kl_per_unit"], free_bits) if free_bits > 0 else kl
    loss = beta * penalty - reconstruction
    reconstruction, kl = reconstruction.detach(), kl.detach()
    return loss, {"reconstruction": reconstruction, "kl": kl, "elbo": reconstruction - kl}


def bits_per_dim(nats: float | torch.Tensor, image_dim: int) -> float | torch.Tensor:
    """Convert a negative log-likelihood in nats per image to bits per pixel: nats / (D ln 2).

    Introduced in notebook 04.
    """
    return nats / (image_dim * math.log(2))
