"""A small notebook with the widget structure of notebooks/06_latent_space.ipynb.

A box with the class "latent-explorer" holds two FloatSliders (latent coordinates z1, z2 in
-3..3) and a PNG Image that is re-rendered whenever a slider moves. The "decoder" is a fixed
random linear map followed by a sigmoid, so the picture depends on z.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    ("markdown", "# Latent space explorer (browser-test fixture)"),
    (
        "code",
        """\
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np""",
    ),
    (
        "code",
        """\
rng = np.random.default_rng(0)
W = rng.normal(size=(2, 28 * 28))
b = rng.normal(scale=0.5, size=28 * 28)


def decode(z1, z2):
    logits = np.array([z1, z2]) @ W + b
    return (1 / (1 + np.exp(-logits))).reshape(28, 28)


def png(image):
    buffer = io.BytesIO()
    plt.imsave(buffer, image, cmap="gray", vmin=0, vmax=1, format="png")
    return buffer.getvalue()""",
    ),
    (
        "code",
        """\
z1 = widgets.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1, description="z1")
z2 = widgets.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1, description="z2")
image = widgets.Image(value=png(decode(0.0, 0.0)), format="png", width=168, height=168)


def update(change):
    image.value = png(decode(z1.value, z2.value))


z1.observe(update, names="value")
z2.observe(update, names="value")
explorer = widgets.VBox([widgets.HBox([z1, z2]), image])
explorer.add_class("latent-explorer")
explorer""",
    ),
]


def write(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (vae_tutorial)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(source))
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
