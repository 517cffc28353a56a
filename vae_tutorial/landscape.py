"""The loss landscape of a VAE: symmetries, straight lines, pPCA, active units. Notebook 05.

The ELBO's terms are convex in what the networks output (the KL in mu and log-variance, the
Bernoulli negative log-likelihood in the logits); the loss is non-convex in the *weights*. These
helpers measure that: copies of a model related by a symmetry, the loss along a straight line
between two models, the closed-form optimum of a linear VAE (probabilistic PCA), and the number of
latent units a model uses.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .elbo import gaussian_kl

LOG_2PI = math.log(2 * math.pi)


@torch.no_grad()
def encoder_means(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """E_q[z | x] = mu(x) for every image: x (n, 1, height, width) -> (n, latent_dim)."""
    return torch.cat(
        [model.encoder(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
    )


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


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """The number of latent units with activity A_u > threshold (Burda et al. 2016 use 0.01).

    Introduced in notebook 05. :param mu: (n, latent_dim).
    """
    return int((unit_activity(mu) > threshold).sum())


def elbo_with_noise(model: nn.Module, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The ELBO of each image with the given standard-normal noise: z = mu + sigma * eps.

    Introduced in notebook 05. Fixing eps ("common random numbers") makes the ELBO a
    deterministic function of the weights, so two models can be compared without sampling noise.

    :param x: (batch, 1, height, width). :param eps: (samples, batch, latent_dim).
    :return: (batch,), in nats: mean over samples of log p(x | z), minus the closed-form KL.
    """
    mu, logvar = model.encoder(x)
    z = mu + torch.exp(0.5 * logvar) * eps  # (samples, batch, latent_dim)
    return model.decoder.log_prob(x, z).mean(0) - gaussian_kl(mu, logvar)


def interpolate_parameters(model_a: nn.Module, model_b: nn.Module, t: float) -> nn.Module:
    """A copy of model_a whose weights are (1 - t) * weights_a + t * weights_b.

    Introduced in notebook 05. t = 0 gives model_a, t = 1 model_b, and t in between the straight
    line between them in weight space (Goodfellow, Vinyals & Saxe 2015).
    """
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    if state_a.keys() != state_b.keys():
        raise ValueError("the two models must have the same architecture")
    mixed = {
        name: torch.lerp(value, state_b[name], t) if value.is_floating_point() else value
        for name, value in state_a.items()
    }
    model = copy.deepcopy(model_a)
    model.load_state_dict(mixed)
    return model


@torch.no_grad()
def loss_along_line(
    model_a: nn.Module, model_b: nn.Module, x: torch.Tensor, ts: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """Negative ELBO (nats per image, mean over x) at each point of the line from a to b.

    :param ts: (points,), 0 is model_a and 1 is model_b. :param eps: (samples, batch, latent_dim).
    :return: (points,).
    """
    losses = [-elbo_with_noise(interpolate_parameters(model_a, model_b, float(t)), x, eps).mean()
              for t in ts]  # fmt: skip
    return torch.stack(losses)


def _linear_layers(model: nn.Module) -> tuple[nn.Linear, nn.Linear, nn.Linear, nn.Linear]:
    """The hidden layers of a VAE with one hidden layer on each side (MLP encoder)."""
    encoder_hidden = [m for m in model.encoder.body.modules() if isinstance(m, nn.Linear)]
    decoder_hidden = [m for m in model.decoder.body.modules() if isinstance(m, nn.Linear)]
    head = getattr(model.decoder, "to_logits", None) or getattr(model.decoder, "to_mean", None)
    if len(encoder_hidden) != 1 or len(decoder_hidden) != 1 or head is None:
        raise ValueError("symmetric_copy needs an MLP VAE with exactly one hidden layer per side")
    return encoder_hidden[0], decoder_hidden[0], head, model.encoder


@torch.no_grad()
def symmetric_copy(
    model: nn.Module,
    latent_perm: torch.Tensor,
    latent_signs: torch.Tensor,
    encoder_hidden_perm: torch.Tensor,
    decoder_hidden_perm: torch.Tensor,
) -> nn.Module:
    """A copy of a one-hidden-layer MLP VAE that computes the same function, relabelled.

    Introduced in notebook 05. The copy's hidden units are permuted (encoder and decoder), its
    latent units permuted by ``latent_perm`` and multiplied by ``latent_signs`` (+1 or -1):
    mu' = signs * mu[perm], logvar' = logvar[perm], and its decoder maps signs * z[perm] to
    what the original maps z to. Since N(0, I) is symmetric under both, the copy has exactly
    the same ELBO, with the noise eps' = signs * eps[perm].

    :param latent_perm, latent_signs: (latent_dim,). :param *_hidden_perm: (hidden units,).
    """
    if not bool(((latent_signs == 1) | (latent_signs == -1)).all()):
        raise ValueError("latent_signs must be +1 or -1")
    twin = copy.deepcopy(model)
    enc_hidden, dec_hidden, head, encoder = _linear_layers(twin)
    signs = latent_signs.to(encoder.to_mu.weight)
    # encoder hidden units: rows of the hidden layer, columns of the heads
    enc_hidden.weight.copy_(enc_hidden.weight[encoder_hidden_perm])
    enc_hidden.bias.copy_(enc_hidden.bias[encoder_hidden_perm])
    for to_out in (encoder.to_mu, encoder.to_logvar):
        to_out.weight.copy_(to_out.weight[:, encoder_hidden_perm])
    # latent units: rows of the heads (signs only on mu), columns of the decoder's first layer
    encoder.to_mu.weight.copy_(encoder.to_mu.weight[latent_perm] * signs[:, None])
    encoder.to_mu.bias.copy_(encoder.to_mu.bias[latent_perm] * signs)
    encoder.to_logvar.weight.copy_(encoder.to_logvar.weight[latent_perm])
    encoder.to_logvar.bias.copy_(encoder.to_logvar.bias[latent_perm])
    dec_hidden.weight.copy_(dec_hidden.weight[:, latent_perm] * signs[None, :])
    # decoder hidden units
    dec_hidden.weight.copy_(dec_hidden.weight[decoder_hidden_perm])
    dec_hidden.bias.copy_(dec_hidden.bias[decoder_hidden_perm])
    head.weight.copy_(head.weight[:, decoder_hidden_perm])
    return twin


def ppca_fit(x: torch.Tensor, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Maximum-likelihood probabilistic PCA in closed form (Tipping & Bishop 1999, eqs. 7-8).

    Introduced in notebook 05. Model: x = W z + mean + noise, z ~ N(0, I), noise ~ N(0, s2 I).
    With S the sample covariance (denominator n), eigenvalues l_1 >= ... >= l_D and eigenvectors
    U: s2 = mean of the D - latent_dim smallest eigenvalues, W = U_q (L_q - s2 I)^(1/2) (any
    rotation W R gives the same likelihood; this is the one with orthogonal columns).

    :param x: (n, D). :return: mean (D,), W (D, latent_dim), s2 (a 0-d tensor).
    """
    n, dim = x.shape
    if not 1 <= latent_dim < dim:
        raise ValueError(f"latent_dim must lie in [1, {dim - 1}], got {latent_dim}")
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

    Introduced in notebook 05. :param x: (n, D). :return: (n,), nats.
    """
    dim = x.shape[-1]
    covariance = weight @ weight.T + sigma2 * torch.eye(dim, dtype=x.dtype, device=x.device)
    cholesky = torch.linalg.cholesky(covariance)
    solved = torch.linalg.solve_triangular(cholesky, (x - mean).T, upper=False)  # (D, n)
    log_det = 2 * cholesky.diagonal().log().sum()
    return -0.5 * (dim * LOG_2PI + log_det + solved.pow(2).sum(0))


class LinearVAE(nn.Module):
    """A VAE whose encoder and decoder are linear, with a Gaussian decoder of scalar variance.

    Introduced in notebook 05 (Lucas, Tucker, Grosse & Norouzi 2019). Encoder:
    q(z | x) = N(A x + a, diag(exp(encoder_logvar))), the variance the same for every x.
    Decoder: p(x | z) = N(W z + b, exp(logvar) I). Its marginal is pPCA's:
    p(x) = N(b, W W^T + exp(logvar) I), so log p(x) is exact.
    """

    def __init__(self, data_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.to_mu = nn.Linear(data_dim, latent_dim)
        self.encoder_logvar = nn.Parameter(torch.zeros(latent_dim))
        self.decoder = nn.Linear(latent_dim, data_dim)
        self.logvar = nn.Parameter(torch.zeros(()))

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """The ELBO of each row of x (n, D), with the expectation over q in closed form: (n,).

        E_q ||x - W z - b||^2 = ||x - W mu - b||^2 + sum_j s_j^2 ||W_:j||^2.
        """
        dim = x.shape[-1]
        mu = self.to_mu(x)
        logvar = self.encoder_logvar.expand_as(mu)
        squared = (x - self.decoder(mu)).pow(2).sum(-1)
        squared = squared + (self.encoder_logvar.exp() * self.decoder.weight.pow(2).sum(0)).sum()
        reconstruction = -0.5 * (dim * (LOG_2PI + self.logvar) + squared / self.logvar.exp())
        return reconstruction - gaussian_kl(mu, logvar)

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) of each row of x (n, D): (n,)."""
        return ppca_log_likelihood(x, self.decoder.bias, self.decoder.weight, self.logvar.exp())


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angles (radians, ascending) between the column spaces of a (D, k) and b (D, k)."""
    qa, qb = torch.linalg.qr(a)[0], torch.linalg.qr(b)[0]
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(-1, 1)
    return torch.arccos(cosines)  # singular values descend, so the angles ascend
