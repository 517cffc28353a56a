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


def test_scatter_digits_colours_each_class_and_writes_the_digit_at_its_median():
    from matplotlib.colors import to_rgba

    from vae_tutorial import scatter_digits
    from vae_tutorial.plotting import DIGIT_COLOURS

    points = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [10.0, 10.0], [12.0, 14.0]])
    labels = torch.tensor([3, 3, 3, 7, 7])
    fig, ax = plt.subplots()
    scatter = scatter_digits(ax, points, labels)
    colours = scatter.to_rgba(scatter.get_array())
    assert np.allclose(colours[0], to_rgba(DIGIT_COLOURS[3]))
    assert np.allclose(colours[-1], to_rgba(DIGIT_COLOURS[7]))
    written = {t.get_text(): t.get_position() for t in ax.texts}
    assert written == {"3": (2.0, 0.0), "7": (11.0, 12.0)}
    plt.close(fig)


def test_scatter_digits_moves_a_label_that_would_cover_another():
    from vae_tutorial import scatter_digits

    points = torch.tensor([[0.0, 0.0], [0.01, 0.0], [10.0, 10.0]])
    fig, ax = plt.subplots()
    scatter_digits(ax, points, torch.tensor([2, 6, 1]))
    written = {t.get_text(): np.array(t.get_position()) for t in ax.texts}
    assert np.abs(written["2"] - written["6"]).max() >= 0.05 * 10 - 1e-9
    assert np.allclose(written["2"], [0.0, 0.0]) and np.allclose(written["1"], [10.0, 10.0])
    plt.close(fig)


def test_the_digit_colours_are_ten_distinct_colours():
    from vae_tutorial.plotting import DIGIT_COLOURS

    assert len(DIGIT_COLOURS) == len(set(DIGIT_COLOURS)) == 10


@pytest.mark.parametrize(
    ("points", "labels"),
    [(np.zeros((3, 3)), np.zeros(3, int)), (np.zeros((3, 2)), np.zeros(2, int)),
     (np.zeros((2, 2)), np.array([0, 10]))],
)  # fmt: skip
def test_scatter_digits_rejects_bad_shapes_and_labels(points, labels):
    from vae_tutorial import scatter_digits

    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="points must be|labels must be"):
        scatter_digits(ax, points, labels)
    plt.close(fig)
