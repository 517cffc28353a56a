"""vae_tutorial.encoder (notebook 01)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import ConvEncoder, MLPEncoder, posterior, posterior_parameters


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    side=st.integers(4, 12),
    hidden=st.lists(st.integers(1, 16), max_size=3),
    latent_dim=st.integers(1, 6),
)
def test_mlp_encoder_shapes_and_computation(batch, side, hidden, latent_dim):
    torch.manual_seed(0)
    encoder = MLPEncoder((1, side, side), hidden, latent_dim)
    x = torch.rand(batch, 1, side, side)
    mu, logvar = encoder(x)
    assert mu.shape == logvar.shape == (batch, latent_dim)
    # Independent reference: the same affine maps and ReLUs, written out.
    h = x.flatten(1)
    linears = [m for m in encoder.body.modules() if isinstance(m, torch.nn.Linear)]
    for layer in linears:
        h = torch.relu(h @ layer.weight.T + layer.bias)
    torch.testing.assert_close(mu, h @ encoder.to_mu.weight.T + encoder.to_mu.bias)
    torch.testing.assert_close(logvar, h @ encoder.to_logvar.weight.T + encoder.to_logvar.bias)


@pytest.mark.parametrize("image_shape", [(1, 28, 28), (1, 8, 8), (1, 7, 5)])
def test_conv_encoder_shapes_and_gradients(image_shape):
    encoder = ConvEncoder(image_shape, channels=(4, 8), hidden_dim=16, latent_dim=3)
    x = torch.rand(5, *image_shape)
    mu, logvar = encoder(x)
    assert mu.shape == logvar.shape == (5, 3)
    (mu.sum() + logvar.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_encoder_is_amortized_one_network_for_every_image():
    encoder = MLPEncoder((1, 8, 8), (32,), 2)
    x = torch.rand(6, 1, 8, 8)
    mu, _ = encoder(x)
    one_by_one = torch.cat([encoder(x[i : i + 1])[0] for i in range(6)])
    torch.testing.assert_close(mu, one_by_one)
    n_parameters = sum(p.numel() for p in encoder.parameters())
    assert n_parameters == (64 * 32 + 32) + 2 * (32 * 2 + 2)


@pytest.mark.parametrize("latent_dim", [0, -1, 2.0, True])
def test_latent_dim_must_be_a_positive_integer(latent_dim):
    with pytest.raises(ValueError, match="latent_dim"):
        MLPEncoder(latent_dim=latent_dim)
    with pytest.raises(ValueError, match="latent_dim"):
        ConvEncoder(latent_dim=latent_dim)


def test_bad_inputs_fail_with_what_to_do():
    encoder = MLPEncoder((1, 8, 8), (4,), 2)
    with pytest.raises(ValueError, match=r"\(batch, 1, 8, 8\)"):
        encoder(torch.rand(3, 64))
    with pytest.raises(TypeError, match="255"):
        encoder(torch.zeros(3, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="activation"):
        MLPEncoder(activation="sigmoid")


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 5), latent_dim=st.integers(1, 5), seed=st.integers(0, 1000))
def test_posterior_log_prob_matches_the_diagonal_gaussian_formula(batch, latent_dim, seed):
    generator = torch.Generator().manual_seed(seed)
    mu = torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
    logvar = torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
    z = torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
    q = posterior(mu, logvar)
    by_hand = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)
    torch.testing.assert_close(q.log_prob(z), by_hand)
    assert q.batch_shape == (batch,) and q.event_shape == (latent_dim,)


def test_posterior_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="must match"):
        posterior(torch.zeros(2, 3), torch.zeros(2, 4))


def test_posterior_parameters_equal_one_big_batch():
    torch.manual_seed(0)
    encoder = MLPEncoder((1, 8, 8), (16,), 3)
    x = torch.rand(25, 1, 8, 8)
    mu, logvar = posterior_parameters(encoder, x, batch_size=7)
    expected_mu, expected_logvar = encoder(x)
    torch.testing.assert_close(mu, expected_mu)
    torch.testing.assert_close(logvar, expected_logvar)
    assert not mu.requires_grad
