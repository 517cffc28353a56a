"""An interactive latent-space explorer: sliders that decode whatever point the reader picks.

Introduced in notebook 07. The user interface lives here, apart from the latent geometry of
``latent``, so that the package's maths does not import ipywidgets.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

IMAGE_PIXELS = 168  # the decoded image's side on screen, by default: 28 x 6 or 8 x 21
SLIDER_STEP = 0.05  # of a latent coordinate, in prior standard deviations


def image_png(image: torch.Tensor | np.ndarray, scale: int = 6) -> bytes:
    """One grey image in [0, 1], (1, height, width) or (height, width), as PNG bytes.

    Introduced in notebook 07.
    Each pixel becomes a scale x scale block, so a browser shows it sharp rather than blurred.
    """
    array = np.asarray(torch.as_tensor(image).detach().cpu().float()).squeeze()
    array = np.kron(array, np.ones((scale, scale), dtype=array.dtype))
    buffer = io.BytesIO()
    plt.imsave(buffer, array, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    return buffer.getvalue()


def latent_explorer(
    decoder: nn.Module,
    latent_dim: int | None = None,
    value_range: tuple[float, float] = (-3.0, 3.0),
    initial: torch.Tensor | Sequence[float] | None = None,
    scale: int | None = None,
):
    """Sliders for the latent coordinates and the decoded image, redrawn as a slider moves.

    Introduced in notebook 07. An ``ipywidgets.VBox`` with the CSS class ``latent-explorer``
    holding an ``ipywidgets.Image`` (PNG of the decoder's mean E[x | z]) and one
    ``ipywidgets.FloatSlider`` per latent coordinate. ``box.sliders``, ``box.image`` and
    ``box.z()`` (the current code, (latent_dim,)) give access to them from Python; setting a
    slider's ``value`` re-renders the image in the kernel, with or without a browser.
    """
    latent_dim = decoder.latent_dim if latent_dim is None else latent_dim
    start = torch.zeros(latent_dim) if initial is None else torch.as_tensor(initial).float()
    if start.shape != (latent_dim,):
        raise ValueError(f"initial must have shape ({latent_dim},), got {tuple(start.shape)}")
    low, high = value_range
    height, width = decoder.image_shape[1:]
    scale = scale if scale is not None else max(1, IMAGE_PIXELS // max(height, width))
    device = next(decoder.parameters()).device
    sliders = [
        widgets.FloatSlider(
            value=float(value), min=low, max=high, step=SLIDER_STEP, description=f"z{j + 1}",
            continuous_update=True, readout_format=".2f",
        )
        for j, value in enumerate(start.clamp(low, high).tolist())
    ]  # fmt: skip
    image = widgets.Image(format="png", width=width * scale, height=height * scale)

    def current() -> torch.Tensor:
        return torch.tensor([s.value for s in sliders], dtype=torch.float32)

    def update(change=None) -> None:
        with torch.no_grad():
            mean = decoder.mean(current().to(device)[None])[0]
        image.value = image_png(mean, scale)

    for slider in sliders:
        slider.observe(update, names="value")
    update()
    box = widgets.VBox(
        [image, widgets.VBox(sliders)], layout=widgets.Layout(align_items="flex-start")
    )
    box.add_class("latent-explorer")
    box.sliders, box.image, box.z = sliders, image, current
    return box
