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


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent units.

    Introduced in notebook 04. Per unit: 1/2 (mu^2 + sigma^2 - 1 - log sigma^2)
    (Kingma & Welling 2014, Appendix B).

    :param mu, logvar: (..., latent_dim).
    :return: (...,), e.g. (batch,).
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must match")
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)


def elbo_terms(
    model: torch.nn.Module,
    x: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """The ELBO of each image and its two terms, with z sampled from q(z | x) (never z = mu).

    Introduced in notebook 04.

    :param model: has ``encoder(x) -> (mu, logvar)`` and ``decoder.log_prob(x, z)``.
    :param x: (batch, 1, height, width).
    :param n_samples: samples of z averaged in the reconstruction term.
    :return: ``reconstruction`` = E_q[log p(x | z)], ``kl`` = KL(q(z | x) || p(z)) and
        ``elbo`` = reconstruction - kl, each of shape (batch,), in nats.
    """
    from .reparameterization import reparameterize

    mu, logvar = model.encoder(x)
    z = reparameterize(mu, logvar, n_samples, generator)  # (samples, batch, latent_dim)
    reconstruction = model.decoder.log_prob(x, z).mean(0)
    kl = gaussian_kl(mu, logvar)
    return {"reconstruction": reconstruction, "kl": kl, "elbo": reconstruction - kl}


def negative_elbo(
    model: torch.nn.Module,
    x: torch.Tensor,
    beta: float = 1.0,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The training loss: mean over the batch of -(reconstruction - beta * KL), in nats.

    Introduced in notebook 04. beta = 1 is the VAE's ELBO; other values weight the KL term
    (Higgins et al. 2017): beta > 1 gives a looser lower bound on log p(x), beta < 1 no bound.

    :return: the scalar loss and the batch means of the terms (detached), for logging.
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    terms = elbo_terms(model, x, n_samples, generator)
    loss = -(terms["reconstruction"] - beta * terms["kl"]).mean()
    return loss, {name: value.detach().mean() for name, value in terms.items()}


def bits_per_dim(nats: float | torch.Tensor, image_dim: int) -> float | torch.Tensor:
    """Convert a negative log-likelihood in nats per image to bits per pixel: nats / (D ln 2)."""
    return nats / (image_dim * math.log(2))
