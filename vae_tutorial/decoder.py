"""The decoder: a latent point z to a distribution p(x | z) over images. Notebook 03.

Which distribution is a modelling choice, and it decides what the loss means:
- binary pixels: independent Bernoulli variables, parameterised by logits;
- grey-level pixels: independent Gaussians, with a fixed or a learned variance.
Binary cross-entropy on grey-level pixels is not the log-likelihood of any distribution over
grey images (it is not normalised over [0, 1]), so its values are not comparable with published
log-likelihoods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .checks import check_float_tensor, check_latent, check_positive_int, check_unit_range
from .encoder import mlp

LOG_2PI = math.log(2 * math.pi)


def _check_pixels(x: torch.Tensor, params: torch.Tensor, name: str) -> None:
    check_float_tensor(x, "x", "x.float() / 255")
    if x.shape[-3:] != params.shape[-3:]:
        raise ValueError(
            f"x {tuple(x.shape)} and {name} {tuple(params.shape)} must end in the same "
            "(1, height, width)"
        )


def bernoulli_log_likelihood(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x | z) for independent Bernoulli pixels, summed over pixels.

    Introduced in notebook 03. Per pixel: x log sigmoid(l) + (1 - x) log(1 - sigmoid(l)),
    computed stably from the logits l.

    :param x: (batch, 1, height, width) with values in [0, 1]; a log-likelihood only if binary.
    :param logits: (batch, 1, height, width) or (samples, batch, 1, height, width).
    :return: (batch,) or (samples, batch).
    """
    _check_pixels(x, logits, "logits")
    check_unit_range(x, "x (a Bernoulli decoder's pixels)")
    per_pixel_nll = F.binary_cross_entropy_with_logits(
        logits, x.expand_as(logits), reduction="none"
    )
    return -per_pixel_nll.flatten(-3).sum(-1)  # negate the per-image sums, not every pixel


def gaussian_log_likelihood(
    x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """log p(x | z) for independent Gaussian pixels, summed over pixels.

    Introduced in notebook 03. Per pixel: -1/2 (log 2 pi + logvar + (x - mean)^2 / exp(logvar)).

    :param x: (batch, 1, height, width).
    :param mean: (batch, 1, height, width) or (samples, batch, 1, height, width).
    :param logvar: broadcastable to ``mean``.
    :return: (batch,) or (samples, batch).
    """
    _check_pixels(x, mean, "mean")
    per_pixel = -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 / torch.exp(logvar))
    return per_pixel.expand_as(mean).flatten(-3).sum(-1)


class _MLPDecoder(nn.Module):
    """The shared body: z -> hidden layers; subclasses add the output head."""

    def __init__(self, latent_dim, hidden_dims, image_shape, activation) -> None:
        super().__init__()
        check_positive_int(latent_dim, "latent_dim")
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        self.body = mlp([latent_dim, *hidden_dims], activation)
        self.out_features = hidden_dims[-1] if hidden_dims else latent_dim

    def _image(self, head: nn.Linear, z: torch.Tensor) -> torch.Tensor:
        """head(body(z)) reshaped to images: (..., 1, height, width)."""
        check_latent(z, self.latent_dim)
        return head(self.body(z)).unflatten(-1, self.image_shape)


class BernoulliDecoder(_MLPDecoder):
    """z (..., latent_dim) -> logits (..., 1, height, width) of independent Bernoulli pixels.

    Introduced in notebook 03.
    """

    def __init__(
        self,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] = (400,),
        image_shape: tuple[int, int, int] = (1, 28, 28),
        activation: str = "relu",
    ) -> None:
        super().__init__(latent_dim, hidden_dims, image_shape, activation)
        self.to_logits = nn.Linear(self.out_features, math.prod(self.image_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self._image(self.to_logits, z)

    def log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z): x (batch, 1, h, w), z (..., batch, latent_dim) -> (..., batch)."""
        return bernoulli_log_likelihood(x, self(z))

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[x | z]: the pixel probabilities sigmoid(logits)."""
        return torch.sigmoid(self(z))

    def sample(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Binary images x ~ p(x | z)."""
        return torch.bernoulli(self.mean(z), generator=generator)


class GaussianDecoder(_MLPDecoder):
    """z (..., latent_dim) -> mean (..., 1, height, width) and a per-pixel log-variance.

    Introduced in notebook 03. With ``learn_variance=False`` the log-variance stays at
    ``logvar`` (the common "MSE" VAE; its scale acts as a hidden weight on the KL term); with
    ``learn_variance=True`` one log-variance per pixel is learned, starting there.
    """

    def __init__(
        self,
        latent_dim: int = 20,
        hidden_dims: Sequence[int] = (400,),
        image_shape: tuple[int, int, int] = (1, 28, 28),
        activation: str = "relu",
        learn_variance: bool = False,
        logvar: float = 0.0,
    ) -> None:
        super().__init__(latent_dim, hidden_dims, image_shape, activation)
        self.to_mean = nn.Linear(self.out_features, math.prod(self.image_shape))
        initial = torch.full(self.image_shape, float(logvar))
        if learn_variance:
            self.logvar = nn.Parameter(initial)
        else:
            self.register_buffer("logvar", initial)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._image(self.to_mean, z), self.logvar

    def log_prob(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x | z): x (batch, 1, h, w), z (..., batch, latent_dim) -> (..., batch)."""
        mean, logvar = self(z)
        return gaussian_log_likelihood(x, mean, logvar)

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[x | z]."""
        return self(z)[0]

    def sample(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Grey-level images x ~ p(x | z) (not clipped to [0, 1])."""
        mean, logvar = self(z)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + torch.exp(0.5 * logvar) * noise
