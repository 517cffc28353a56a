"""vae_tutorial: the tested companion package of the VAE tutorial notebooks.

Each module holds what one notebook teaches (see the README's map of the series):
00 ``data``, ``mnist``, ``batches``, ``checks``, ``utils``, ``plotting``; 01 ``encoder``;
02 ``reparameterization``; 03 ``decoder``; 04 ``elbo``, ``vae``; 05 ``training``, ``collapse``;
06 ``landscape``, ``linear_vae``; 07 ``latent``, ``explorer``; 08 ``evaluation``; ``grading``
serves the graded exercises' hidden tests.
"""

from .batches import Batches, binarize, binarize_static, validation_images
from .collapse import active_units, unit_activity
from .data import DigitData, Split, load_data
from .decoder import (
    BernoulliDecoder,
    GaussianDecoder,
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
)
from .elbo import (
    bits_per_dim,
    elbo_terms,
    free_bits_penalty,
    gaussian_kl,
    gaussian_kl_per_unit,
    negative_elbo,
)
from .encoder import ConvEncoder, MLPEncoder, posterior, posterior_parameters
from .evaluation import (
    LinearGaussianVAE,
    evaluate_test,
    iw_log_likelihood,
    log_importance_weights,
)
from .landscape import interpolate_parameters, loss_along_line, symmetric_copy
from .latent import lerp, nearest_distance, prior_grid, slerp, traversal
from .linear_vae import LinearVAE, ppca_fit, ppca_log_likelihood, principal_angles
from .plotting import make_grid, scatter_digits, set_style, show_images
from .reparameterization import reparameterize
from .utils import (
    environment_report,
    headless,
    pick_device,
    run_generator,
    seed_everything,
    stream_seed,
)
from .vae import VAE, VAEConfig, prior_log_prob, sample_prior

__version__ = "0.2.0"  # the one place the version is set (pyproject.toml reads it)

__all__ = [
    "VAE",
    "Batches",
    "BernoulliDecoder",
    "ConvEncoder",
    "DigitData",
    "GaussianDecoder",
    "LinearGaussianVAE",
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
    "environment_report",
    "evaluate_test",
    "free_bits_penalty",
    "gaussian_kl",
    "gaussian_kl_per_unit",
    "gaussian_log_likelihood",
    "headless",
    "interpolate_parameters",
    "iw_log_likelihood",
    "lerp",
    "load_data",
    "log_importance_weights",
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
    "prior_log_prob",
    "reparameterize",
    "run_generator",
    "sample_prior",
    "seed_everything",
    "scatter_digits",
    "set_style",
    "show_images",
    "slerp",
    "stream_seed",
    "symmetric_copy",
    "traversal",
    "unit_activity",
    "validation_images",
]
