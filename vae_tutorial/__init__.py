"""vae_tutorial: the tested companion package of the VAE tutorial notebooks.

Each module holds what one notebook teaches (see the README's map of the series).
"""

from .data import Batches, DigitData, Split, binarize, binarize_static, load_data
from .plotting import make_grid, set_style, show_images
from .utils import environment_report, pick_device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "Batches",
    "DigitData",
    "Split",
    "binarize",
    "binarize_static",
    "environment_report",
    "load_data",
    "make_grid",
    "pick_device",
    "seed_everything",
    "set_style",
    "show_images",
]
