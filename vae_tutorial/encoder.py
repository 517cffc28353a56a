"""The encoder: images x to the parameters of q(z | x), a diagonal Gaussian. Notebook 01.

One network serves every image (amortized inference): instead of fitting a mean and a variance
per image, it learns a function from an image to them. It outputs the *log*-variance, which can be
any real number, so no constraint is needed to keep the variance positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .checks import check_batch, check_positive_int, check_same_shape

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
ENCODE_BATCH = 1000  # images per forward pass in posterior_parameters; bounds the memory


def mlp(sizes: Sequence[int], activation: str = "relu") -> nn.Sequential:
    """Linear layers of the given sizes with an activation after each."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {activation!r}")
    for size in sizes:
        check_positive_int(size, f"every layer size in {tuple(sizes)}")
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(fan_in, fan_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class _GaussianEncoder(nn.Module):
    """The shared forward pass: body, then the two heads to_mu and to_logvar."""

    image_shape: tuple[int, ...]
    body: nn.Module
    to_mu: nn.Linear
    to_logvar: nn.Linear

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_batch(x, self.image_shape)
        hidden = self.body(x)
        return self.to_mu(hidden), self.to_logvar(hidden)


class MLPEncoder(_GaussianEncoder):
    """x (batch, 1, height, width) -> mu, logvar, each (batch, latent_dim).

    Introduced in notebook 01.

    :param image_shape: (1, height, width) of one image.
    :param hidden_dims: widths of the hidden layers, e.g. (400,) for the classic 784-400-20.
    :param latent_dim: number of latent units.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        hidden_dims: Sequence[int] = (400,),
        latent_dim: int = 20,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        check_positive_int(latent_dim, "latent_dim")
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        image_dim = math.prod(self.image_shape)
        self.body = nn.Sequential(nn.Flatten(), mlp([image_dim, *hidden_dims], activation))
        last = hidden_dims[-1] if hidden_dims else image_dim
        self.to_mu = nn.Linear(last, latent_dim)
        self.to_logvar = nn.Linear(last, latent_dim)


class ConvEncoder(_GaussianEncoder):
    """A small convolutional variant: two stride-2 convolutions, then one hidden layer.

    Introduced in notebook 01. Same interface as :class:`MLPEncoder`:
    x (batch, 1, height, width) -> mu, logvar, each (batch, latent_dim).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        channels: Sequence[int] = (32, 64),
        hidden_dim: int = 256,
        latent_dim: int = 20,
    ) -> None:
        super().__init__()
        check_positive_int(latent_dim, "latent_dim")
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        layers, in_channels = [], self.image_shape[0]
        height, width = self.image_shape[1:]
        for out_channels in channels:  # each halves height and width, rounding up
            layers += [nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1), nn.ReLU()]
            in_channels, height, width = out_channels, (height + 1) // 2, (width + 1) // 2
        self.body = nn.Sequential(
            *layers, nn.Flatten(), nn.Linear(in_channels * height * width, hidden_dim), nn.ReLU()
        )
        self.to_mu = nn.Linear(hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden_dim, latent_dim)


def posterior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.distributions.Distribution:
    """q(z | x) as a ``torch.distributions`` object: independent Normals over the last axis.

    Introduced in notebook 01.

    :param mu, logvar: (batch, latent_dim). Its ``log_prob(z)`` has shape (batch,).
    """
    check_same_shape(mu, logvar)
    normal = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    return torch.distributions.Independent(normal, 1)


@torch.no_grad()
def posterior_parameters(
    encoder: nn.Module, x: torch.Tensor, batch_size: int = ENCODE_BATCH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode many images in batches, without gradients.

    Introduced in notebook 05 (active units); notebook 07 encodes whole splits with it.

    :param encoder: returns (mu, logvar) for a batch, e.g. ``model.encoder``.
    :param x: (n, 1, height, width), on the encoder's device.
    :return: mu, logvar: each (n, latent_dim).
    """
    pairs = [encoder(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat([mu for mu, _ in pairs]), torch.cat([logvar for _, logvar in pairs])
