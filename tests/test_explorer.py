"""The latent explorer of notebook 07: its widgets, and the image it draws."""

from __future__ import annotations

import pytest
import torch

from vae_tutorial import BernoulliDecoder
from vae_tutorial.explorer import image_png, latent_explorer


def _small_decoder(latent_dim=2):
    torch.manual_seed(0)
    return BernoulliDecoder(latent_dim=latent_dim, hidden_dims=(16,), image_shape=(1, 8, 8))


def test_image_png_is_a_png_of_the_scaled_size():
    data = image_png(torch.rand(1, 8, 8), scale=3)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (24, 24)


def test_the_explorer_has_the_structure_the_browser_test_looks_for():
    widgets = pytest.importorskip("ipywidgets")
    box = latent_explorer(_small_decoder(3))
    assert isinstance(box, widgets.VBox) and "latent-explorer" in box._dom_classes
    found, stack = [], list(box.children)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(getattr(child, "children", ()))
    sliders = [w for w in found if isinstance(w, widgets.FloatSlider)]
    images = [w for w in found if isinstance(w, widgets.Image)]
    assert len(sliders) == 3 and len(images) == 1
    assert all(s.min == -3 and s.max == 3 and s.continuous_update for s in sliders)
    assert images[0].format == "png" and images[0].value[:4] == b"\x89PNG"


def test_moving_a_slider_redraws_the_decoded_image():
    pytest.importorskip("ipywidgets")
    decoder = _small_decoder()
    box = latent_explorer(decoder)
    before = box.image.value
    box.sliders[0].value = 2.5
    assert box.image.value != before
    torch.testing.assert_close(box.z(), torch.tensor([2.5, 0.0]))
    # the picture is the decoder's mean at the sliders' code
    expected = image_png(
        decoder.mean(torch.tensor([[2.5, 0.0]]))[0].detach(), int(box.image.width) // 8
    )
    assert box.image.value == expected


def test_the_explorer_starts_where_asked_and_checks_the_start():
    pytest.importorskip("ipywidgets")
    box = latent_explorer(_small_decoder(), initial=[1.0, -5.0])
    assert [s.value for s in box.sliders] == [1.0, -3.0]  # clamped to the slider range
    with pytest.raises(ValueError, match="initial"):
        latent_explorer(_small_decoder(), initial=[1.0, 2.0, 3.0])
