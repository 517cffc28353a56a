"""vae_tutorial.elbo (notebook 04)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import (
    VAE,
    VAEConfig,
    bits_per_dim,
    elbo_terms,
    free_bits_penalty,
    gaussian_kl,
    gaussian_kl_per_unit,
    negative_elbo,
)


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


def test_elbo_terms_by_hand(tiny_vae):
    model, x = tiny_vae
    terms = elbo_terms(model, x, generator=torch.Generator().manual_seed(5))
    assert all(terms[name].shape == (6,) for name in ("reconstruction", "kl", "elbo"))
    assert terms["kl_per_unit"].shape == (6, model.config.latent_dim)
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


def test_the_elbo_samples_z(tiny_vae):
    model, x = tiny_vae
    draws = [
        elbo_terms(model, x, generator=torch.Generator().manual_seed(s))["elbo"] for s in (1, 2)
    ]
    assert not torch.equal(draws[0], draws[1])  # z is sampled, not set to mu


def test_the_elbo_is_a_lower_bound_on_an_exactly_integrated_log_likelihood():
    # A VAE small enough to integrate: 2x2 binary images (16 possible) and a 1-D latent, so
    # log p(x) = log of the integral of p(x | z) N(z; 0, 1) dz is a Riemann sum over a z grid.
    # The grid and the exact ELBO are computed here with torch.distributions, independently of
    # vae_tutorial.elbo; elbo_terms is only used for the Monte Carlo estimate being tested.
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(1, 2, 2), hidden_dims=(8,), latent_dim=1)).double()
    pixels = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)
    images = pixels.view(16, 1, 2, 2)
    z = torch.linspace(-12, 12, 4001, dtype=torch.float64)  # p(|z| > 12) < 1e-32
    dz = z[1] - z[0]
    samples = 20_000
    with torch.no_grad():
        log_lik = model.decoder.log_prob(images, z.view(-1, 1, 1).expand(-1, 16, 1))  # (grid, 16)
        log_prior = torch.distributions.Normal(0.0, 1.0).log_prob(z)[:, None]
        log_px = torch.logsumexp(log_lik + log_prior, 0) + dz.log()  # (16,)
        # the 16 images are every possible image: their probabilities add up to 1
        torch.testing.assert_close(log_px.exp().sum(), torch.tensor(1.0, dtype=torch.float64))
        mu, logvar = model.encoder(images)
        q = torch.distributions.Normal(mu[:, 0], (0.5 * logvar[:, 0]).exp())
        kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
        exact_elbo = (q.log_prob(z[:, None]).exp() * log_lik).sum(0) * dz - kl  # (16,)
        # Monte Carlo: one z per row, `samples` rows per image
        terms = elbo_terms(
            model, images.repeat(samples, 1, 1, 1), generator=torch.Generator().manual_seed(1)
        )
    elbo = terms["elbo"].view(samples, 16)
    mean, standard_error = elbo.mean(0), elbo.std(0) / samples**0.5
    # elbo_terms estimates the ELBO without bias ...
    assert ((mean - exact_elbo).abs() < 4 * standard_error).all()
    # ... which lies below log p(x) for every image (the gap is KL(q || p(z | x)) >= 0) ...
    assert (exact_elbo < log_px).all()
    assert (mean < log_px + 3 * standard_error).all()
    # ... and by more than the Monte Carlo error, so an estimate on or above log p(x) would fail.
    assert (log_px - mean).sum() > 10 * standard_error.pow(2).sum().sqrt()


def test_negative_elbo_means_over_the_batch_and_weights_the_kl(tiny_vae):
    model, x = tiny_vae
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


def test_elbo_terms_with_given_noise_match_torch_distributions(tiny_vae):
    model, x = tiny_vae
    latent_dim = model.config.latent_dim
    eps = torch.randn(5, len(x), latent_dim)
    mu, logvar = model.encoder(x)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = mu + q.scale * eps
    logits = model.decoder(z).flatten(-3)
    log_lik = torch.distributions.Bernoulli(logits=logits).log_prob(x.flatten(-3)).sum(-1)
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0))
    terms = elbo_terms(model, x, eps=eps)
    torch.testing.assert_close(terms["elbo"], log_lik.mean(0) - kl.sum(-1))
    torch.testing.assert_close(terms["kl_per_unit"], kl)
    # the same eps gives the same number: the ELBO is then a function of the weights alone
    torch.testing.assert_close(elbo_terms(model, x, eps=eps)["elbo"], terms["elbo"])
    with pytest.raises(ValueError, match="eps"):
        elbo_terms(model, x, eps=torch.randn(5, len(x) + 1, latent_dim))


def test_the_training_loss_is_beta_weighted_and_free_bits_floor_each_unit(tiny_vae):
    model, x = tiny_vae
    latent_dim = model.config.latent_dim
    eps = torch.randn(1, len(x), latent_dim)
    terms = elbo_terms(model, x, eps=eps)
    for beta in (0.0, 0.5, 2.0):
        loss, logs = negative_elbo(model, x, beta=beta, eps=eps)
        expected = -(terms["reconstruction"] - beta * terms["kl"]).mean()
        torch.testing.assert_close(loss, expected)
        torch.testing.assert_close(logs["elbo"], terms["elbo"].mean().detach())
    floor = 10.0  # above every unit's KL here, so the penalty is latent_dim * floor
    assert (terms["kl_per_unit"].mean(0) < floor).all()
    loss, _ = negative_elbo(model, x, beta=1.0, free_bits=floor, eps=eps)
    torch.testing.assert_close(loss, -terms["reconstruction"].mean() + latent_dim * floor)
    with pytest.raises(ValueError, match="free_bits"):
        negative_elbo(model, x, free_bits=-1.0)


def test_free_bits_only_penalise_the_kl_above_the_floor():
    mu = torch.tensor([[0.0, 2.0], [0.0, 2.0]])
    logvar = torch.zeros(2, 2)
    per_unit = gaussian_kl_per_unit(mu, logvar)  # unit 0: 0 nats, unit 1: 2 nats per image
    torch.testing.assert_close(per_unit, torch.tensor([[0.0, 2.0], [0.0, 2.0]]))
    assert free_bits_penalty(per_unit, 0.0) == pytest.approx(2.0)
    assert free_bits_penalty(per_unit, 1.0) == pytest.approx(1.0 + 2.0)
    assert free_bits_penalty(per_unit, 3.0) == pytest.approx(6.0)
