"""vae_tutorial: the tested companion package of the VAE tutorial notebooks.

Each module holds what one notebook teaches (see the README's map of the series).
"""

from .batches import Batches, binarize, binarize_static
from .data import DigitData, Split, load_data
from .decoder import (
    BernoulliDecoder,
    GaussianDecoder,
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
)
from .elbo import bits_per_dim, elbo_terms, gaussian_kl, negative_elbo
from .encoder import ConvEncoder, MLPEncoder, posterior
from .plotting import make_grid, set_style, show_images
from .reparameterization import reparameterize
from .utils import environment_report, pick_device, seed_everything
from .vae import VAE, VAEConfig

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "Batches",
    "BernoulliDecoder",
    "ConvEncoder",
    "DigitData",
    "GaussianDecoder",
    "MLPEncoder",
    "Split",
    "VAEConfig",
    "bernoulli_log_likelihood",
    "binarize",
    "binarize_static",
    "bits_per_dim",
    "elbo_terms",
    "environment_report",
    "gaussian_kl",
    "gaussian_log_likelihood",
    "load_data",
    "make_grid",
    "negative_elbo",
    "pick_device",
    "posterior",
    "reparameterize",
    "seed_everything",
    "set_style",
    "show_images",
]
