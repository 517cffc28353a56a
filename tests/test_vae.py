"""vae_tutorial.vae: the prior and the assembled model (notebook 04)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vae_tutorial import (
    VAE,
    BernoulliDecoder,
    ConvEncoder,
    GaussianDecoder,
    MLPEncoder,
    VAEConfig,
    prior_log_prob,
    sample_prior,
)


def test_default_is_the_classic_784_400_20():
    model = VAE()
    assert isinstance(model.encoder, MLPEncoder)
    sizes = [p.shape for p in model.parameters()]
    assert sum(p.numel() for p in model.parameters()) == (
        (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)
    ), sizes


def test_forward_and_generate_shapes(tiny_vae):
    model, _ = tiny_vae  # 8x8 images, latent_dim 2
    out = model(torch.rand(5, 1, 8, 8))
    assert out["mu"].shape == out["logvar"].shape == out["z"].shape == (5, 2)
    assert out["x_mean"].shape == (5, 1, 8, 8)
    images = model.generate(4, torch.Generator().manual_seed(0))
    assert images.shape == (4, 1, 8, 8) and ((images > 0) & (images < 1)).all()
    binary = model.generate(4, torch.Generator().manual_seed(0), mean=False)
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    again = model.generate(4, torch.Generator().manual_seed(0))
    torch.testing.assert_close(images, again)


def test_variants():
    conv = VAE(VAEConfig(encoder="conv", likelihood="gaussian", learn_variance=True))
    assert isinstance(conv.encoder, ConvEncoder) and isinstance(conv.decoder, GaussianDecoder)
    assert "decoder.logvar" in dict(conv.named_parameters())


@pytest.mark.parametrize(
    "field, value", [("latent_dim", 0), ("encoder", "rnn"), ("likelihood", "poisson")]
)
def test_bad_config_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        VAEConfig(**{field: value})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        VAEConfig().latent_dim = 3


@pytest.mark.gpu
def test_vae_runs_on_the_gpu():
    model = VAE().cuda()
    out = model(torch.rand(8, 1, 28, 28, device="cuda"))
    assert out["x_mean"].device.type == "cuda"


def test_sample_prior_decodes_one_randn_draw():
    torch.manual_seed(0)
    decoder = BernoulliDecoder(latent_dim=3, hidden_dims=(8,), image_shape=(1, 5, 4))
    images = sample_prior(decoder, 6, torch.Generator().manual_seed(9))
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(images, torch.sigmoid(decoder(z)))
    assert images.shape == (6, 1, 5, 4)


def test_generate_is_sample_prior_of_the_decoder():
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(1, 5, 4), hidden_dims=(8,), latent_dim=3))
    for mean in (True, False):
        torch.testing.assert_close(
            model.generate(4, torch.Generator().manual_seed(2), mean=mean),
            sample_prior(model.decoder, 4, torch.Generator().manual_seed(2), mean=mean),
        )


def test_prior_log_prob_matches_torch_distributions():
    z = torch.randn(3, 5, 4, dtype=torch.float64)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    torch.testing.assert_close(prior_log_prob(z), expected)
    with pytest.raises(TypeError, match="floating point"):
        prior_log_prob(torch.zeros(2, 3, dtype=torch.long))
