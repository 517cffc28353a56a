"""The house figure style and image grids. Introduced in notebook 00.

Figures stay small (modest size and dpi) so that notebooks with their outputs stay small.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

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
