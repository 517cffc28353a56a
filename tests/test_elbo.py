"""vae_tutorial.elbo (notebook 04)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import VAE, VAEConfig, bits_per_dim, elbo_terms, gaussian_kl, negative_elbo


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 5), latent_dim=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_kl_matches_torch_distributions(batch, latent_dim, seed):
    generator = torch.Generator().manual_seed(seed)
    mu = 3 * torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
    logvar = 3 * torch.randn(batch, latent_dim, generator=generator, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    reference = torch.distributions.kl_divergence(q, p).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), reference)
    assert (gaussian_kl(mu, logvar) >= 0).all()


def test_kl_of_the_prior_is_zero_and_monte_carlo_agrees():
    assert gaussian_kl(torch.zeros(4, 3), torch.zeros(4, 3)).abs().max() == 0
    mu = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    logvar = torch.tensor([[-1.0, 0.7]], dtype=torch.float64)
    q = torch.distributions.Independent(torch.distributions.Normal(mu, (0.5 * logvar).exp()), 1)
    p = torch.distributions.Independent(
        torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1
    )
    torch.manual_seed(0)
    z = q.sample((400_000,))
    log_ratio = q.log_prob(z) - p.log_prob(z)
    standard_error = log_ratio.std() / 400_000**0.5
    assert abs(log_ratio.mean() - gaussian_kl(mu, logvar)[0]) < 5 * standard_error


def test_kl_is_convex_in_mu_and_logvar():
    mu = torch.tensor([0.3], requires_grad=True)
    logvar = torch.tensor([-0.4], requires_grad=True)
    hessian = torch.autograd.functional.hessian(lambda m, v: gaussian_kl(m, v).sum(), (mu, logvar))
    matrix = torch.tensor([[hessian[0][0].item(), hessian[0][1].item()],
                           [hessian[1][0].item(), hessian[1][1].item()]])  # fmt: skip
    torch.testing.assert_close(matrix, torch.tensor([[1.0, 0.0], [0.0, 0.5 * math.exp(-0.4)]]))


def _model_and_batch():
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(1, 4, 4), hidden_dims=(8,), latent_dim=2))
    x = torch.bernoulli(torch.full((6, 1, 4, 4), 0.3))
    return model, x


def test_elbo_terms_by_hand():
    model, x = _model_and_batch()
    terms = elbo_terms(model, x, generator=torch.Generator().manual_seed(5))
    assert all(value.shape == (6,) for value in terms.values())
    mu, logvar = model.encoder(x)
    eps = torch.randn(1, 6, 2, generator=torch.Generator().manual_seed(5))
    z = mu + (0.5 * logvar).exp() * eps
    logits = model.decoder(z)[0]
    reconstruction = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(terms["reconstruction"], reconstruction)
    torch.testing.assert_close(terms["kl"], kl)
    torch.testing.assert_close(terms["elbo"], reconstruction - kl)


def test_the_elbo_samples_z_and_is_a_lower_bound_in_expectation():
    model, x = _model_and_batch()
    draws = [
        elbo_terms(model, x, generator=torch.Generator().manual_seed(s))["elbo"] for s in (1, 2)
    ]
    assert not torch.equal(draws[0], draws[1])  # z is sampled, not set to mu


def test_negative_elbo_means_over_the_batch_and_weights_the_kl():
    model, x = _model_and_batch()
    loss, logged = negative_elbo(model, x, beta=0.0, generator=torch.Generator().manual_seed(0))
    terms = elbo_terms(model, x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss, -terms["reconstruction"].mean())
    loss_2, _ = negative_elbo(model, x, beta=2.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loss_2, -(terms["reconstruction"] - 2 * terms["kl"]).mean())
    torch.testing.assert_close(logged["elbo"], terms["elbo"].mean())
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match="beta"):
        negative_elbo(model, x, beta=-1.0)


def test_bits_per_dim():
    assert bits_per_dim(784 * math.log(2), 784) == pytest.approx(1.0)
    assert bits_per_dim(86.76, 784) == pytest.approx(86.76 / (784 * math.log(2)))
