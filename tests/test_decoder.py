"""vae_tutorial.decoder (notebook 03)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import (
    BernoulliDecoder,
    GaussianDecoder,
    bernoulli_log_likelihood,
    gaussian_log_likelihood,
)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 5), side=st.integers(2, 6), seed=st.integers(0, 1000))
def test_bernoulli_log_likelihood_matches_torch_distributions(batch, side, seed):
    generator = torch.Generator().manual_seed(seed)
    logits = 5 * torch.randn(batch, 1, side, side, generator=generator, dtype=torch.float64)
    x = torch.bernoulli(torch.full_like(logits, 0.5), generator=generator)
    reference = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), reference)


def test_bernoulli_log_likelihood_is_stable_for_large_logits():
    x = torch.tensor([1.0, 0.0, 1.0, 0.0]).reshape(1, 1, 2, 2)
    logits = torch.tensor([100.0, -100.0, -100.0, 100.0]).reshape(1, 1, 2, 2)
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), torch.tensor([-200.0]))


def test_samples_axis_broadcasts_over_x():
    x = torch.bernoulli(torch.full((3, 1, 4, 4), 0.5))
    logits = torch.randn(5, 3, 1, 4, 4)
    per_sample = bernoulli_log_likelihood(x, logits)
    assert per_sample.shape == (5, 3)
    torch.testing.assert_close(per_sample[2], bernoulli_log_likelihood(x, logits[2]))


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4), seed=st.integers(0, 1000), learned=st.booleans())
def test_gaussian_log_likelihood_matches_torch_distributions(batch, seed, learned):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 1, 3, 3, generator=generator, dtype=torch.float64)
    mean = torch.randn(batch, 1, 3, 3, generator=generator, dtype=torch.float64)
    shape = (1, 3, 3) if learned else ()
    logvar = torch.randn(shape, generator=generator, dtype=torch.float64)
    normal = torch.distributions.Normal(mean, torch.exp(0.5 * logvar).expand_as(mean))
    reference = normal.log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(x, mean, logvar), reference)


def test_pixels_outside_0_1_are_refused_by_the_bernoulli_decoder():
    logits = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match=r"\[0, 1\].*binarize"):
        bernoulli_log_likelihood(torch.full((1, 1, 2, 2), 255.0), logits)
    with pytest.raises(TypeError, match="255"):
        bernoulli_log_likelihood(torch.ones(1, 1, 2, 2, dtype=torch.uint8), logits)
    with pytest.raises(ValueError, match="same"):
        bernoulli_log_likelihood(torch.ones(1, 1, 3, 3), logits)


@pytest.mark.parametrize("decoder_class", [BernoulliDecoder, GaussianDecoder])
def test_decoders_map_latents_to_images(decoder_class):
    decoder = decoder_class(latent_dim=3, hidden_dims=(8,), image_shape=(1, 5, 4))
    z = torch.randn(7, 3)
    assert decoder.mean(z).shape == (7, 1, 5, 4)
    assert decoder.mean(torch.randn(2, 7, 3)).shape == (2, 7, 1, 5, 4)
    x = torch.bernoulli(torch.full((7, 1, 5, 4), 0.5))
    assert decoder.log_prob(x, z).shape == (7,)
    sample = decoder.sample(z, torch.Generator().manual_seed(0))
    assert sample.shape == (7, 1, 5, 4)
    with pytest.raises(ValueError, match=r"\(\.\.\., batch, 3\)"):
        decoder(torch.randn(7, 4))
    with pytest.raises(ValueError, match="latent_dim"):
        decoder_class(latent_dim=0)


def test_bernoulli_decoder_means_are_probabilities_and_samples_binary():
    decoder = BernoulliDecoder(2, (8,), (1, 4, 4))
    z = torch.randn(100, 2)
    mean = decoder.mean(z)
    assert ((0 < mean) & (mean < 1)).all()
    assert set(decoder.sample(z).unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(mean, torch.sigmoid(decoder(z)))


def test_gaussian_decoder_variance_fixed_or_learned():
    fixed = GaussianDecoder(2, (4,), (1, 2, 2), logvar=-1.0)
    learned = GaussianDecoder(2, (4,), (1, 2, 2), learn_variance=True, logvar=-1.0)
    assert "logvar" not in dict(fixed.named_parameters())
    assert dict(learned.named_parameters())["logvar"].shape == (1, 2, 2)
    z, x = torch.randn(3, 2), torch.rand(3, 1, 2, 2)
    learned.log_prob(x, z).sum().backward()
    assert learned.logvar.grad is not None
    # With a fixed variance the log-likelihood is -MSE / (2 sigma^2) + a constant.
    mean = fixed.mean(z)
    constant = -0.5 * 4 * (torch.log(torch.tensor(2 * torch.pi)) - 1.0)
    expected = -((x - mean) ** 2).sum((1, 2, 3)) / (2 * torch.exp(torch.tensor(-1.0))) + constant
    torch.testing.assert_close(fixed.log_prob(x, z), expected)
