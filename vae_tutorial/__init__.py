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
from .landscape import (
    LinearVAE,
    active_units,
    elbo_with_noise,
    encoder_means,
    interpolate_parameters,
    loss_along_line,
    ppca_fit,
    ppca_log_likelihood,
    principal_angles,
    symmetric_copy,
    unit_activity,
)
from .latent import (
    latent_explorer,
    lerp,
    nearest_distance,
    posterior_parameters,
    prior_grid,
    sample_prior,
    slerp,
    traversal,
)
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
    "LinearVAE",
    "MLPEncoder",
    "Split",
    "VAEConfig",
    "active_units",
    "bernoulli_log_likelihood",
    "binarize",
    "binarize_static",
    "bits_per_dim",
    "elbo_terms",
    "elbo_with_noise",
    "encoder_means",
    "environment_report",
    "gaussian_kl",
    "gaussian_log_likelihood",
    "interpolate_parameters",
    "latent_explorer",
    "lerp",
    "load_data",
    "loss_along_line",
    "make_grid",
    "nearest_distance",
    "negative_elbo",
    "pick_device",
    "posterior",
    "posterior_parameters",
    "ppca_fit",
    "ppca_log_likelihood",
    "principal_angles",
    "prior_grid",
    "reparameterize",
    "sample_prior",
    "seed_everything",
    "set_style",
    "show_images",
    "slerp",
    "symmetric_copy",
    "traversal",
    "unit_activity",
]
