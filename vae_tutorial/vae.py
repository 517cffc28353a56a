"""The VAE: the prior, encoder, reparameterization and decoder, assembled. Notebook 04.

Generative process: z ~ p(z) = N(0, I), then x ~ p(x | z). Inference: q(z | x) from the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .checks import check_float_tensor, check_positive_int
from .decoder import LOG_2PI, BernoulliDecoder, GaussianDecoder
from .encoder import ConvEncoder, MLPEncoder
from .reparameterization import reparameterize


def prior_log_prob(z: torch.Tensor) -> torch.Tensor:
    """log p(z) for the prior p(z) = N(0, I), summed over latent units.

    Introduced in notebook 04. Per unit: -1/2 (log 2 pi + z^2).

    :param z: (..., latent_dim). :return: (...,), nats.
    """
    check_float_tensor(z, "z")
    return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)


@torch.no_grad()
def sample_prior(
    decoder: nn.Module, n: int, generator: torch.Generator | None = None, mean: bool = True
) -> torch.Tensor:
    """New images from the model itself: z ~ p(z) = N(0, I) (one ``torch.randn`` call), then
    the decoder's mean E[x | z], or with ``mean=False`` a sample x ~ p(x | z).

    Introduced in notebook 04; notebook 07's graded exercise ``sample_images`` rebuilds it.

    :param decoder: has ``latent_dim``, ``mean(z)`` and ``sample(z, generator)``.
    :return: (n, 1, height, width).
    """
    check_positive_int(n, "n")
    device = next(decoder.parameters()).device
    z = torch.randn(n, decoder.latent_dim, generator=generator, device=device)
    return decoder.mean(z) if mean else decoder.sample(z, generator)


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines a model's architecture. The default is the classic 784-400-20.

    Introduced in notebook 04."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    hidden_dims: tuple[int, ...] = (400,)
    latent_dim: int = 20
    activation: str = "relu"
    encoder: str = "mlp"  # "mlp" or "conv"
    likelihood: str = "bernoulli"  # "bernoulli" or "gaussian"
    learn_variance: bool = False  # Gaussian decoder only

    def __post_init__(self) -> None:
        check_positive_int(self.latent_dim, "latent_dim")
        if self.encoder not in ("mlp", "conv"):
            raise ValueError(f"encoder must be 'mlp' or 'conv', got {self.encoder!r}")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"likelihood must be 'bernoulli' or 'gaussian', got {self.likelihood!r}"
            )


class VAE(nn.Module):
    """x (batch, 1, height, width) -> q(z | x) -> z -> p(x | z).

    Introduced in notebook 04.
    """

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        if config.encoder == "mlp":
            self.encoder = MLPEncoder(
                config.image_shape, config.hidden_dims, config.latent_dim, config.activation
            )
        else:
            self.encoder = ConvEncoder(config.image_shape, latent_dim=config.latent_dim)
        decoder_args = (
            config.latent_dim, tuple(reversed(config.hidden_dims)), config.image_shape,
            config.activation,
        )  # fmt: skip
        if config.likelihood == "bernoulli":
            self.decoder = BernoulliDecoder(*decoder_args)
        else:
            self.decoder = GaussianDecoder(*decoder_args, learn_variance=config.learn_variance)

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Encode, sample one z per image, decode.

        :return: ``mu``, ``logvar``, ``z``: (batch, latent_dim); ``x_mean``: E[x | z],
            (batch, 1, height, width).
        """
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar, generator=generator)
        return {"mu": mu, "logvar": logvar, "z": z, "x_mean": self.decoder.mean(z)}

    def generate(
        self, n: int, generator: torch.Generator | None = None, mean: bool = True
    ) -> torch.Tensor:
        """New images: ``sample_prior(self.decoder, n, generator, mean)``, (n, 1, height, width)."""
        return sample_prior(self.decoder, n, generator, mean)
