"""The reparameterization trick, and the score-function estimator it replaces. Notebook 02.

A sample z ~ N(mu, sigma^2) drawn by a random number generator is a constant to autograd: no
gradient reaches mu or sigma. Writing the same sample as z = mu + sigma * eps with eps ~ N(0, I)
moves the randomness into eps, and z becomes a differentiable function of mu and sigma
(Kingma & Welling 2014, Section 2.4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .checks import check_positive_int, check_same_shape
from .encoder import posterior


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int | None = None,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) and sigma = exp(logvar / 2).

    Introduced in notebook 02.

    :param mu, logvar: (batch, latent_dim).
    :param n_samples: None for one sample per row, z: (batch, latent_dim); an integer S for
        z: (S, batch, latent_dim).
    :param generator: draws eps; ignored when eps is given.
    :param eps: the standard-normal noise itself, (batch, latent_dim) or (S, batch, latent_dim):
        fixing it ("common random numbers") makes z a deterministic function of mu and logvar.
    """
    check_same_shape(mu, logvar)
    if eps is None:
        if n_samples is not None:
            check_positive_int(n_samples, "n_samples")
        shape = mu.shape if n_samples is None else (n_samples, *mu.shape)
        eps = torch.randn(shape, generator=generator, dtype=mu.dtype, device=mu.device)
    elif eps.shape[-mu.dim() :] != mu.shape:
        raise ValueError(f"eps {tuple(eps.shape)} must end in mu's shape {tuple(mu.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps


# The closed-form case: d/dmu E[(x - k)^2] with x ~ N(mu, 1), true value 2 (mu - k).


def pathwise_gradients(
    mu: float, k: float, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n single-sample pathwise (reparameterization) estimates of d/dmu E[(x - k)^2], x ~ N(mu, 1).

    Introduced in notebook 02. Computed by autograd through x = mu + eps: each estimate is
    2 (mu + eps - k), whose variance is 4 whatever mu and k are.

    :return: shape (n,).
    """
    mus = torch.full((n,), float(mu), dtype=torch.float64, requires_grad=True)
    x = mus + torch.randn(n, generator=generator, dtype=torch.float64)
    ((x - k) ** 2).sum().backward()
    return mus.grad


def score_function_gradients(
    mu: float, k: float, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n single-sample score-function (REINFORCE) estimates of the same gradient.

    Introduced in notebook 02. Each estimate is f(x) * d/dmu log N(x; mu, 1) = (x - k)^2 (x - mu),
    computed by autograd from the log-density of a sample that carries no gradient. With
    a = mu - k its variance is a^4 + 14 a^2 + 15.

    :return: shape (n,).
    """
    mus = torch.full((n,), float(mu), dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        x = torch.normal(mus, 1.0, generator=generator)
    log_density = torch.distributions.Normal(mus, 1.0).log_prob(x)
    (((x - k) ** 2) * log_density).sum().backward()
    return mus.grad


def encoder_gradients(
    encoder: nn.Module,
    x: torch.Tensor,
    f: Callable[[torch.Tensor], torch.Tensor],
    estimator: str = "pathwise",
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One estimate of the gradient of E_q(z|x)[f(z)], summed over the batch, w.r.t. the encoder.

    Introduced in notebook 02.

    :param x: (batch, 1, height, width).
    :param f: maps z (samples, batch, latent_dim) to a cost of shape (samples, batch); it must
        not depend on the encoder's weights except through z.
    :param estimator: ``"pathwise"`` (through z = mu + sigma * eps) or ``"score"``
        (f(z) times the gradient of log q(z | x), z treated as a constant).
    :param n_samples: samples of z averaged in the estimate.
    :return: the gradient, flattened over all encoder parameters: (n_parameters,).
    """
    if estimator not in ("pathwise", "score"):
        raise ValueError(f"estimator must be 'pathwise' or 'score', got {estimator!r}")
    mu, logvar = encoder(x)
    if estimator == "pathwise":
        z = reparameterize(mu, logvar, n_samples, generator)
        surrogate = f(z).mean(0).sum()
    else:
        with torch.no_grad():
            z = reparameterize(mu, logvar, n_samples, generator)
            cost = f(z)
        surrogate = (cost * posterior(mu, logvar).log_prob(z)).mean(0).sum()
    parameters = [p for p in encoder.parameters() if p.requires_grad]
    grads = torch.autograd.grad(surrogate, parameters)
    return torch.cat([g.flatten() for g in grads])
