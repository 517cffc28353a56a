"""How good is a trained VAE: the importance-weighted bound on log p(x). Notebook 08.

The ELBO is a lower bound on log p(x) whose gap is KL(q(z | x) || p(z | x)), so it mixes the
model's quality with the encoder's. The importance-weighted bound (Burda, Grosse &
Salakhutdinov 2016, eq. 8) samples k codes z_1 ... z_k from q(z | x) and averages the weights
w_i = p(x, z_i) / q(z_i | x) inside the log:

    log p_k(x) = log (1/k) sum_i w_i;  ELBO = log p_1(x) <= log p_k(x) <= log p_k+1(x) -> log p(x)

The literature reports -log p_k(x) with k = 5,000 as "the test log-likelihood" (an estimate,
itself a stochastic lower bound on log p(x)).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from tqdm.auto import tqdm

from .batches import binarize
from .checks import check_images, check_positive_int
from .collapse import active_units
from .data import DigitData
from .decoder import LOG_2PI, BernoulliDecoder, GaussianDecoder
from .elbo import bits_per_dim, elbo_terms
from .linear_vae import ppca_log_likelihood
from .reparameterization import reparameterize
from .utils import run_generator

IMAGES_PER_PASS = 50  # images whose k samples are scored together
SAMPLES_PER_PASS = 500  # samples of z per image per pass: a pass holds ~ 50 x 500 x 784 floats


def test_images(data: DigitData, seed: int = 0, device=None) -> torch.Tensor:
    """The test images, binarized once with the run's ``"test"`` generator (stochastic
    binarization: pixel = 1 with probability equal to its grey level, the same on every run).

    Introduced in notebook 08. Touch them only for the final numbers.

    :return: (n_test, 1, height, width), on ``device``.
    """
    images = binarize(data.test.images, run_generator(seed, "test"))
    return images.to(device) if device is not None else images


def _check_inputs(model: torch.nn.Module, x: torch.Tensor, k: int) -> None:
    check_positive_int(k, "k")
    check_images(x, "x")  # also catches NaN: it is not in [0, 1]
    device = next(model.parameters()).device
    if x.device != device:
        raise ValueError(
            f"x is on {x.device} but the model is on {device}; move one of them: x.to({device!r})"
        )
    if isinstance(model.decoder, BernoulliDecoder) and not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(
            "a Bernoulli decoder scores binary pixels only, and x has grey levels; binarize the "
            "images first (vae_tutorial.binarize or evaluation.test_images)"
        )


def log_importance_weights(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """log w_i = log p(x | z_i) + log p(z_i) - log q(z_i | x), for z_i ~ q(z | x), i = 1 ... k.

    Introduced in notebook 08. All k samples at once: use ``iw_log_likelihood`` for large k.

    :param x: (batch, 1, height, width).
    :param eps: or the standard-normal noise of z = mu + sigma * eps itself, (k, batch,
        latent_dim); ``generator`` is then unused.
    :return: (k, batch), nats.
    """
    mu, logvar = model.encoder(x)
    if eps is None:
        eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    elif eps.shape != (k, *mu.shape):
        raise ValueError(f"eps must have shape {(k, *mu.shape)}, got {tuple(eps.shape)}")
    z = reparameterize(mu, logvar, eps=eps)  # (k, batch, latent_dim)
    # log N(z; mu, sigma^2) with z = mu + sigma * eps: -1/2 (log 2 pi + log sigma^2 + eps^2)
    log_q = -0.5 * (LOG_2PI + logvar + eps.pow(2)).sum(-1)
    log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)  # log N(z; 0, I)
    return model.decoder.log_prob(x, z) + log_prior - log_q


@torch.no_grad()
def iw_log_likelihood(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    samples_per_pass: int = SAMPLES_PER_PASS,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """The importance-weighted bound log p_k(x) of each image (Burda et al. 2016, eq. 8).

    Introduced in notebook 08. log (1/k) sum_i w_i, computed as a running logsumexp over
    passes of ``samples_per_pass`` samples, so memory is bounded by one pass whatever k is.
    With k = 1 it is the one-sample ELBO estimate; it rises towards log p(x) as k grows.

    :param x: (batch, 1, height, width), binary for a Bernoulli decoder.
    :param eps: optional, the noise of all k samples, (k, batch, latent_dim): the same eps give
        the same estimate whatever ``samples_per_pass`` is.
    :return: (batch,), nats.
    """
    _check_inputs(model, x, k)
    check_positive_int(samples_per_pass, "samples_per_pass")
    total = torch.full((len(x),), -math.inf, dtype=x.dtype, device=x.device)
    for start in range(0, k, samples_per_pass):
        chunk = min(samples_per_pass, k - start)
        noise = None if eps is None else eps[start : start + chunk]
        log_w = log_importance_weights(model, x, chunk, generator, noise)
        # in place: a new small tensor per pass, allocated among the pass's large temporaries,
        # would keep the memory they free from returning to the system (measured: 1.1 GB peak
        # instead of 0.7 GB for notebook 08's evaluation)
        torch.logaddexp(total, torch.logsumexp(log_w, dim=0), out=total)
    return total - math.log(k)


def _mean_and_error(values: torch.Tensor) -> tuple[float, float]:
    """The mean of per-image values and its standard error, std / sqrt(n)."""
    values = values.double()
    if len(values) < 2:
        return values.mean().item(), math.nan
    return values.mean().item(), values.std(correction=1).item() / math.sqrt(len(values))


@torch.no_grad()
def evaluate_test(
    model: torch.nn.Module,
    x: torch.Tensor,
    k: int = 5000,
    seed: int = 0,
    images_per_pass: int = IMAGES_PER_PASS,
    samples_per_pass: int = SAMPLES_PER_PASS,
    progress: bool = False,
) -> dict[str, float]:
    """The numbers the literature reports, each a mean over the images with its standard error.

    Introduced in notebook 08. ``negative_elbo``: -ELBO as notebook 04 computes it
    (``elbo_terms``: the reconstruction term with one sampled z per image, never z = mu, and the
    KL in closed form); ``nll``: -log p_k(x), the importance-weighted estimate of -log p(x)
    with ``k`` samples; ``bits_per_dim``: ``nll`` in bits per pixel; ``active_units``: Burda et
    al.'s count (activity above 0.01) on these images' posterior means. ``*_se`` are standard
    errors over the images (they do not include the bias of a finite k).

    :param x: (n, 1, height, width), binary for a Bernoulli decoder (see ``test_images``).
    :param seed: seeds the samples of z.
    """
    _check_inputs(model, x, k)
    check_positive_int(images_per_pass, "images_per_pass")
    model.eval()
    generator = torch.Generator(device=x.device).manual_seed(seed)
    elbos, log_likelihoods, means = [], [], []
    starts = range(0, len(x), images_per_pass)
    for start in tqdm(starts, desc=f"k = {k}", disable=not progress, leave=False):
        batch = x[start : start + images_per_pass]
        elbos.append(elbo_terms(model, batch, 1, generator)["elbo"])
        log_likelihoods.append(
            iw_log_likelihood(model, batch, k, generator, samples_per_pass=samples_per_pass)
        )
        means.append(model.encoder(batch)[0])
    negative_elbo, negative_elbo_se = _mean_and_error(-torch.cat(elbos))
    nll, nll_se = _mean_and_error(-torch.cat(log_likelihoods))
    image_dim = math.prod(x.shape[1:])
    return {
        "negative_elbo": negative_elbo,
        "negative_elbo_se": negative_elbo_se,
        "nll": nll,
        "nll_se": nll_se,
        "bits_per_dim": bits_per_dim(nll, image_dim),
        "active_units": active_units(torch.cat(means)) if len(x) > 1 else 0,
        "k": k,
        "images": len(x),
    }


class _AffineEncoder(nn.Module):
    """q(z | x) = N(A x + a, diag(exp(logvar))), the same variances for every x."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, logvar: torch.Tensor) -> None:
        super().__init__()
        self.weight, self.bias = nn.Parameter(weight), nn.Parameter(bias)
        self.logvar = nn.Parameter(logvar)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = x.flatten(1) @ self.weight.T + self.bias
        return mu, self.logvar.expand_as(mu)


class LinearGaussianVAE(nn.Module):
    """A small VAE whose log p(x) is known exactly: the reference answer for the IW bound.

    Introduced in notebook 08. p(z) = N(0, I) and p(x | z) = N(W z + b, s2 I), a linear
    ``GaussianDecoder``, so p(x) = N(b, W W^T + s2 I) (probabilistic PCA, notebook 06). W has
    orthogonal columns, so the true posterior is diagonal, N(M (x - b), diag(v)) with
    v = diag((I + W^T W / s2)^-1) and M = diag(v) W^T / s2, and the encoder can equal it. With
    ``exact_posterior=False`` the encoder is moved off it: its mean map shrunk by 30%, its
    log-variances raised by 1 (even units) or lowered by 0.8 (odd units).

    :param image_shape: the shape of one "image"; its pixels may be any real numbers in [0, 1].
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 2, 3),
        latent_dim: int = 2,
        noise_variance: float = 0.05,
        exact_posterior: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        image_dim = math.prod(image_shape)
        if not 1 <= latent_dim <= image_dim:
            raise ValueError(f"latent_dim must lie in [1, {image_dim}], got {latent_dim}")
        generator = torch.Generator().manual_seed(seed)
        noise = torch.randn(image_dim, image_dim, generator=generator, dtype=torch.float64)
        basis, _ = torch.linalg.qr(noise)  # in float64: orthogonal to rounding error
        weight = basis[:, :latent_dim] * torch.linspace(0.6, 0.3, latent_dim, dtype=torch.float64)
        bias = torch.full((image_dim,), 0.5, dtype=torch.float64)
        self.noise_variance = noise_variance
        self.decoder = GaussianDecoder(
            latent_dim, (), image_shape, logvar=math.log(noise_variance)
        ).double()
        with torch.no_grad():
            self.decoder.to_mean.weight.copy_(weight)
            self.decoder.to_mean.bias.copy_(bias)
            self.decoder.logvar.fill_(math.log(noise_variance))  # not its float32 rounding
        variances = 1 / (1 + weight.pow(2).sum(0) / noise_variance)
        gain = variances[:, None] * weight.T / noise_variance  # (latent_dim, image_dim)
        logvar = variances.log()
        if not exact_posterior:
            gain = 0.7 * gain
            shifts = torch.tensor([1.0, -0.8], dtype=torch.float64).repeat(latent_dim)
            logvar = logvar + shifts[:latent_dim]
        self.encoder = _AffineEncoder(gain, -gain @ bias, logvar)

    @torch.no_grad()
    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log p(x) of each image, x (batch, *image_shape) -> (batch,), nats."""
        linear = self.decoder.to_mean
        return ppca_log_likelihood(x.flatten(1), linear.bias, linear.weight, self.noise_variance)
