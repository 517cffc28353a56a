"""The house figure style and image grids. Introduced in notebook 00.

Figures stay small (modest size and dpi) so that notebooks with their outputs stay small.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import patheffects
from matplotlib.colors import ListedColormap

STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.constrained_layout.use": True,
    "image.cmap": "viridis",  # perceptually uniform for anything that is not a digit image
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}


# Ten colours for the ten digit classes that stay apart for readers with the common forms of colour
# blindness: Paul Tol's "muted" scheme (nine colours) and a dark grey (P. Tol, "Colour Schemes",
# SRON/EPS/TN/09-002, 2021). Digit d gets DIGIT_COLOURS[d]; scatter_digits also writes each digit.
DIGIT_COLOURS = (
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
    "#DDCC77", "#CC6677", "#882255", "#AA4499", "#555555",
)  # fmt: skip
DIGIT_CMAP = ListedColormap(DIGIT_COLOURS, name="digits")


def set_style() -> None:
    """Apply the house style to every later figure.

    Introduced in notebook 00.
    """
    plt.rcParams.update(STYLE)


def make_grid(images: torch.Tensor | np.ndarray, ncols: int = 8, pad: int = 1) -> np.ndarray:
    """Tile images into one array, row by row, with ``pad`` pixels of background between them.

    Introduced in notebook 00.

    :param images: (n, 1, height, width) or (n, height, width).
    :return: (rows * (height + pad) - pad, ncols * (width + pad) - pad); empty cells are 0.
    """
    array = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else images
    if array.ndim == 4:
        if array.shape[1] != 1:
            raise ValueError(f"expected one channel, got shape {array.shape}")
        array = array[:, 0]
    if array.ndim != 3 or array.shape[0] == 0:
        raise ValueError(
            f"images must have shape (n, 1, height, width) or (n, height, width) with n >= 1, "
            f"got {array.shape}"
        )
    if ncols < 1 or pad < 0:
        raise ValueError(f"need ncols >= 1 and pad >= 0, got ncols={ncols}, pad={pad}")
    n, height, width = array.shape
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    grid = np.zeros((nrows * (height + pad) - pad, ncols * (width + pad) - pad), array.dtype)
    for i in range(n):
        row, col = divmod(i, ncols)
        top, left = row * (height + pad), col * (width + pad)
        grid[top : top + height, left : left + width] = array[i]
    return grid


def show_images(
    images: torch.Tensor | np.ndarray,
    *,
    ncols: int = 8,
    title: str | None = None,
    ax: plt.Axes | None = None,
    labels: Sequence | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
) -> plt.Axes:
    """Show images as one grid, grey levels from black (0) to white (1), without axes.

    Introduced in notebook 00.

    :param images: (n, 1, height, width) or (n, height, width), values in [vmin, vmax].
    :param labels: optional, one per image, written in each tile's corner.
    """
    grid = make_grid(images, ncols=ncols)
    if ax is None:
        n = len(images)
        cols = min(ncols, n)
        rows = -(-n // cols)
        _, ax = plt.subplots(figsize=(min(1.0 * cols, 8.0), min(1.0 * rows, 8.0) + 0.3))
    ax.imshow(grid, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.axis("off")
    if labels is not None:
        height, width = np.shape(images)[-2:]
        cols = min(ncols, len(images))
        for i, label in enumerate(labels):
            row, col = divmod(i, cols)
            # Inside the tile's top-left corner, so labels never overlap a neighbour.
            ax.text(
                col * (width + 1),
                row * (height + 1),
                str(label),
                ha="left",
                va="top",
                fontsize=7,
                color="#ffcc00",
            )
    if title:
        ax.set_title(title)
    return ax


def scatter_digits(ax, points, labels, size: float = 4, centres: bool = True):
    """Scatter 2-D points coloured by their digit class, each digit written at its class's median.

    Introduced in notebook 01. The colours are ``DIGIT_COLOURS``; the written digits make the
    classes readable without telling colours apart (a label that would cover another is moved
    just below it). ``centres=False`` writes none, for classes that are not yet apart. Returns
    the scatter, for a colour bar.

    :param points: (n, 2) tensor or array; labels: (n,) integers 0-9.
    """
    points = np.asarray(points.detach().cpu() if isinstance(points, torch.Tensor) else points)
    labels = np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels):
        raise ValueError(
            f"points must be (n, 2) with one label each, got {points.shape} and {labels.shape}"
        )
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"labels must be digits 0-9, got {labels.min()} to {labels.max()}")
    scatter = ax.scatter(*points.T, c=labels, cmap=DIGIT_CMAP, vmin=-0.5, vmax=9.5, s=size)
    outline = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    gap = 0.05 * max(np.ptp(points, axis=0).max(), 1e-12)  # labels closer than this would touch
    placed: list[np.ndarray] = []
    for digit in np.unique(labels) if centres else ():
        at = np.median(points[labels == digit], axis=0)
        while any(np.abs(at - other).max() < gap for other in placed):
            at = at - [0.0, gap]  # a label that would cover another goes just below it
        placed.append(at)
        ax.text(*at, str(digit), ha="center", va="center", fontsize=11, fontweight="bold",
                color="black", path_effects=outline)  # fmt: skip
    return scatter
