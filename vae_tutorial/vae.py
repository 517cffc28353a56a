"""The VAE: encoder, reparameterization, decoder and prior, assembled. Notebooks 04-06.

Generative process: z ~ p(z) = N(0, I), then x ~ p(x | z). Inference: q(z | x) from the encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .decoder import BernoulliDecoder, GaussianDecoder
from .encoder import ConvEncoder, MLPEncoder, check_latent_dim
from .reparameterization import reparameterize


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines a model's architecture. The default is the classic 784-400-20."""

    image_shape: tuple[int, int, int] = (1, 28, 28)
    hidden_dims: tuple[int, ...] = (400,)
    latent_dim: int = 20
    activation: str = "relu"
    encoder: str = "mlp"  # "mlp" or "conv"
    likelihood: str = "bernoulli"  # "bernoulli" or "gaussian"
    learn_variance: bool = False  # Gaussian decoder only

    def __post_init__(self) -> None:
        check_latent_dim(self.latent_dim)
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

    @torch.no_grad()
    def generate(
        self, n: int, generator: torch.Generator | None = None, mean: bool = True
    ) -> torch.Tensor:
        """New images from the model itself: z ~ N(0, I), then x ~ p(x | z) (or its mean).

        :return: (n, 1, height, width).
        """
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator, device=device)
        return self.decoder.mean(z) if mean else self.decoder.sample(z, generator)
