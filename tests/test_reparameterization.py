"""vae_tutorial.reparameterization (notebook 02)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import MLPEncoder, reparameterize
from vae_tutorial.reparameterization import (
    encoder_gradients,
    pathwise_gradients,
    score_function_gradients,
)


@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 6),
    latent_dim=st.integers(1, 5),
    samples=st.one_of(st.none(), st.integers(1, 4)),
)
def test_shapes(batch, latent_dim, samples):
    mu, logvar = torch.zeros(batch, latent_dim), torch.zeros(batch, latent_dim)
    z = reparameterize(mu, logvar, samples)
    expected = (batch, latent_dim) if samples is None else (samples, batch, latent_dim)
    assert z.shape == expected


def test_samples_have_the_right_distribution():
    mu = torch.tensor([[1.0, -2.0, 0.0]])
    logvar = torch.tensor([[0.0, 2 * torch.tensor(0.5).log().item(), 2.0]])
    z = reparameterize(mu, logvar, 200_000, torch.Generator().manual_seed(0))[:, 0]
    sigma = torch.exp(0.5 * logvar[0])
    standard_error = sigma / 200_000**0.5
    assert ((z.mean(0) - mu[0]).abs() < 5 * standard_error).all()
    torch.testing.assert_close(z.std(0), sigma, rtol=0.01, atol=0)


def test_same_generator_same_draws_as_torch_distributions_rsample():
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    z = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(1))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps)
    torch.manual_seed(2)
    reference = torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()
    torch.manual_seed(2)
    torch.testing.assert_close(reparameterize(mu, logvar), reference)


def test_gradients_reach_mu_and_logvar():
    mu = torch.randn(2, 3, requires_grad=True)
    logvar = torch.randn(2, 3, requires_grad=True)
    generator = torch.Generator().manual_seed(3)
    z = reparameterize(mu, logvar, generator=generator)
    z.sum().backward()
    eps = torch.randn(2, 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(mu.grad, torch.ones(2, 3))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_bad_arguments():
    with pytest.raises(ValueError, match="must match"):
        reparameterize(torch.zeros(2, 3), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="n_samples"):
        reparameterize(torch.zeros(2, 3), torch.zeros(2, 3), 0)


@pytest.mark.parametrize("a", [0.0, 1.0, 2.0])
def test_closed_form_variances(a):
    """Pathwise variance 4, score-function a^4 + 14 a^2 + 15; both unbiased for 2 a."""
    n, k = 400_000, 1.5
    generator = torch.Generator().manual_seed(0)
    for estimates, variance in [
        (pathwise_gradients(k + a, k, n, generator), 4.0),
        (score_function_gradients(k + a, k, n, generator), a**4 + 14 * a**2 + 15),
    ]:
        centred = estimates - estimates.mean()
        # Standard error of the sample variance: sqrt((m4 - s^4) / n).
        se_var = ((centred**4).mean() - centred.var() ** 2).sqrt() / n**0.5
        assert abs(estimates.var().item() - variance) < 5 * se_var.item()
        assert abs(estimates.mean().item() - 2 * a) < 5 * (variance / n) ** 0.5


def test_encoder_gradient_estimators_agree_in_mean_and_differ_in_variance():
    torch.manual_seed(0)
    encoder = MLPEncoder((1, 4, 4), (8,), 2)
    x = torch.rand(3, 1, 4, 4)
    target = torch.tensor([1.0, -1.0])

    def f(z):
        return ((z - target) ** 2).sum(-1)

    generator = torch.Generator().manual_seed(0)
    runs = {
        name: torch.stack(
            [encoder_gradients(encoder, x, f, name, 4, generator) for _ in range(400)]
        )
        for name in ("pathwise", "score")
    }
    # Exact gradient: E[(z - t)^2] = (mu - t)^2 + sigma^2 per unit, differentiated by autograd.
    mu, logvar = encoder(x)
    exact = ((mu - target) ** 2 + logvar.exp()).sum()
    grads = torch.autograd.grad(exact, list(encoder.parameters()))
    exact = torch.cat([g.flatten() for g in grads])
    for estimates in runs.values():
        standard_error = estimates.std(0) / 400**0.5
        assert ((estimates.mean(0) - exact).abs() <= 5 * standard_error + 1e-6).all()
    assert runs["score"].var(0).sum() > 5 * runs["pathwise"].var(0).sum()
    with pytest.raises(ValueError, match="estimator"):
        encoder_gradients(encoder, x, f, "reinforce")
