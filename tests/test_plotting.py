"""vae_tutorial.plotting: image grids and the house style (notebook 00)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from vae_tutorial import make_grid, set_style, show_images


def test_make_grid_places_each_image_row_by_row():
    images = torch.arange(1, 6, dtype=torch.float32).reshape(5, 1, 1, 1).expand(5, 1, 2, 3)
    grid = make_grid(images, ncols=2, pad=1)
    assert grid.shape == (3 * 3 - 1, 2 * 4 - 1)
    assert (grid[0:2, 0:3] == 1).all() and (grid[0:2, 4:7] == 2).all()
    assert (grid[3:5, 0:3] == 3).all() and (grid[6:8, 0:3] == 5).all()
    assert (grid[6:8, 4:7] == 0).all()  # the empty cell
    assert (grid[2, :] == 0).all() and (grid[:, 3] == 0).all()  # padding


def test_make_grid_accepts_numpy_without_channel_axis():
    grid = make_grid(np.ones((3, 4, 4)), ncols=8, pad=0)
    assert grid.shape == (4, 12)


@pytest.mark.parametrize(
    "images", [np.zeros((2, 3, 4, 4)), np.zeros((0, 4, 4)), np.zeros((4, 4)), np.zeros(5)]
)
def test_make_grid_rejects_other_shapes(images):
    with pytest.raises(ValueError):
        make_grid(images)


def test_show_images_draws_one_grid_without_axes():
    set_style()
    assert plt.rcParams["figure.dpi"] == 80
    ax = show_images(torch.rand(10, 1, 8, 8), ncols=5, title="t", labels=list(range(10)))
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (17, 44)
    assert not ax.axison and ax.get_title() == "t" and len(ax.texts) == 10
    plt.close("all")
