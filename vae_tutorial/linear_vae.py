"""The linear VAE and probabilistic PCA, whose optimum is known in closed form. Notebook 06.

A VAE with linear encoder and decoder and a Gaussian decoder of scalar variance has the marginal
likelihood of probabilistic PCA (Tipping & Bishop 1999), so its exact log p(x) and its optimum
can be computed, and compared with what gradient descent on the ELBO reaches (Lucas, Tucker,
Grosse & Norouzi 2019).
"""

from __future__ import annotations

import torch
from torch import nn

from .decoder import LOG_2PI
from .elbo import gaussian_kl


def ppca_fit(x: torch.Tensor, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Maximum-likelihood probabilistic PCA in closed form (Tipping & Bishop 1999, eqs. 7-8).

    Introduced in notebook 06. Model: x = W z + mean + noise, z ~ N(0, I), noise ~ N(0, s2 I).
    With S the sample covariance (denominator n), eigenvalues l_1 >= ... >= l_D and eigenvectors
    U: s2 = mean of the D - latent_dim smallest eigenvalues, W = U_q (L_q - s2 I)^(1/2) (any
    rotation W R gives the same likelihood; this is the one with orthogonal columns).

    :param x: (n, image_dim).
    :return: mean (image_dim,), W (image_dim, latent_dim), s2 (a 0-d tensor).
    """
    n, image_dim = x.shape
    if not 1 <= latent_dim < image_dim:
        raise ValueError(f"latent_dim must lie in [1, {image_dim - 1}], got {latent_dim}")
    mean = x.mean(0)
    centred = x - mean
    covariance = centred.T @ centred / n
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
    sigma2 = eigenvalues[latent_dim:].mean()
    scale = (eigenvalues[:latent_dim] - sigma2).clamp(min=0).sqrt()
    return mean, eigenvectors[:, :latent_dim] * scale, sigma2


def ppca_log_likelihood(
    x: torch.Tensor, mean: torch.Tensor, weight: torch.Tensor, sigma2: torch.Tensor | float
) -> torch.Tensor:
    """log N(x; mean, W W^T + s2 I) of each row: the exact log p(x) of pPCA or a linear VAE.

    Introduced in notebook 06. :param x: (n, image_dim). :return: (n,), nats.
    """
    image_dim = x.shape[-1]
    identity = torch.eye(image_dim, dtype=x.dtype, device=x.device)
    covariance = weight @ weight.T + sigma2 * identity
    cholesky = torch.linalg.cholesky(covariance)
    solved = torch.linalg.solve_triangular(cholesky, (x - mean).T, upper=False)  # (D, n)
    log_det = 2 * cholesky.diagonal().log().sum()
    return -0.5 * (image_dim * LOG_2PI + log_det + solved.pow(2).sum(0))


class LinearVAE(nn.Module):
    """A VAE whose encoder and decoder are linear, with a Gaussian decoder of scalar variance.

    Introduced in notebook 06 (Lucas, Tucker, Grosse & Norouzi 2019). Encoder:
    q(z | x) = N(A x + a, diag(exp(encoder_logvar))), the variance the same for every x.
    Decoder: p(x | z) = N(W z + b, exp(logvar) I). Its marginal is pPCA's:
    p(x) = N(b, W W^T + exp(logvar) I), so log p(x) is exact.
    """

    def __init__(self, image_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.to_mu = nn.Linear(image_dim, latent_dim)
        self.encoder_logvar = nn.Parameter(torch.zeros(latent_dim))
        self.decoder = nn.Linear(latent_dim, image_dim)
        self.logvar = nn.Parameter(torch.zeros(()))

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """The ELBO of each row of x (n, image_dim), the expectation over q in closed form: (n,).

        E_q ||x - W z - b||^2 = ||x - W mu - b||^2 + sum_j s_j^2 ||W_:j||^2.
        """
        image_dim = x.shape[-1]
        mu = self.to_mu(x)
        logvar = self.encoder_logvar.expand_as(mu)
        squared = (x - self.decoder(mu)).pow(2).sum(-1)
        squared = squared + (self.encoder_logvar.exp() * self.decoder.weight.pow(2).sum(0)).sum()
        log_normaliser = image_dim * (LOG_2PI + self.logvar)
        reconstruction = -0.5 * (log_normaliser + squared / self.logvar.exp())
        return reconstruction - gaussian_kl(mu, logvar)

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) of each row of x (n, image_dim): (n,)."""
        return ppca_log_likelihood(x, self.decoder.bias, self.decoder.weight, self.logvar.exp())


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angles (radians, ascending) between the column spaces of a and b, each (image_dim, k).

    Introduced in notebook 06.
    """
    qa, qb = torch.linalg.qr(a)[0], torch.linalg.qr(b)[0]
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1, 1)
    return torch.arccos(cosines)  # singular values descend, so the angles ascend
