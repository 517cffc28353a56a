"""The importance-weighted bound against exact answers: a linear-Gaussian model whose log p(x)
is a multivariate normal density (torch.distributions), and a 1-D latent model integrated on a
grid. Neither reference calls the code under test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from vae_tutorial import VAE, VAEConfig, bits_per_dim, elbo_terms, evaluation
from vae_tutorial.collapse import active_units
from vae_tutorial.decoder import BernoulliDecoder
from vae_tutorial.evaluation import (
    LinearGaussianVAE,
    evaluate_test,
    iw_log_likelihood,
    log_importance_weights,
)

IMAGE_SHAPE = (1, 2, 3)  # LinearGaussianVAE's default: six "pixels", two latent units
LATENT_DIM = 2


def exact_log_likelihood(model: LinearGaussianVAE, x: torch.Tensor) -> torch.Tensor:
    """log N(x; b, W W^T + s2 I) with torch.distributions, independent of the package."""
    weight, bias = model.decoder.to_mean.weight, model.decoder.to_mean.bias
    covariance = weight @ weight.T + model.noise_variance * torch.eye(len(bias), dtype=bias.dtype)
    return MultivariateNormal(bias, covariance).log_prob(x.flatten(1)).detach()


def linear_images(n: int, seed: int = 1) -> torch.Tensor:
    """Grey images in [0, 1] drawn from roughly the model's own distribution."""
    generator = torch.Generator().manual_seed(seed)
    x = 0.5 + 0.35 * (torch.rand(n, *IMAGE_SHAPE, generator=generator, dtype=torch.float64) - 0.5)
    return x


def test_true_posterior_makes_every_weight_equal_and_the_estimate_exact():
    model = LinearGaussianVAE(exact_posterior=True)
    x = linear_images(20)
    exact = exact_log_likelihood(model, x)
    torch.testing.assert_close(model.log_likelihood(x), exact)
    generator = torch.Generator().manual_seed(2)
    log_w = log_importance_weights(model, x, 50, generator)
    assert torch.allclose(log_w, exact.expand_as(log_w), atol=1e-9), (
        "with q = p(z | x) every weight p(x, z) / q(z | x) is p(x); the weights differ"
    )
    for k in (1, 3, 1000):
        estimate = iw_log_likelihood(model, x, k, generator, samples_per_pass=64)
        assert torch.allclose(estimate, exact, atol=1e-9), f"k = {k}: not exact with the true q"


def test_estimate_rises_with_k_towards_the_exact_log_likelihood():
    model = LinearGaussianVAE(exact_posterior=False)
    x = linear_images(400)
    exact = exact_log_likelihood(model, x).mean().item()
    generator = torch.Generator().manual_seed(3)
    means = [iw_log_likelihood(model, x, k, generator).mean().item() for k in (1, 10, 100, 2000)]
    assert means == sorted(means), f"the bound must tighten as k grows: {means}"
    assert means[-1] < exact + 1e-3, f"a lower bound on average: {means[-1]} > {exact}"
    gap_1, gap_2000 = exact - means[0], exact - means[-1]
    assert gap_1 > 0.3, f"the wrong q should leave a visible ELBO gap, got {gap_1:.3f} nats"
    assert gap_2000 < 0.02 * gap_1, f"k = 2000 should close the gap: {gap_2000:.4f} of {gap_1:.3f}"


class GridModel(nn.Module):
    """A 1-D latent, non-linear Bernoulli model: log p(x) is a 1-D integral over z."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.decoder = BernoulliDecoder(1, (8,), (1, 2, 2), activation="tanh").double()
        self.to_mu = nn.Linear(4, 1).double()
        self.logvar = nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def encoder(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.to_mu(x.flatten(1))
        return mu, self.logvar.expand_as(mu)

    @torch.no_grad()
    def log_likelihood_on_grid(self, x: torch.Tensor) -> torch.Tensor:
        """log of the integral of p(x | z) N(z; 0, 1) dz by the trapezoid rule on [-12, 12]."""
        z = torch.linspace(-12, 12, 24_001, dtype=torch.float64)
        log_joint = self.decoder.log_prob(x, z[:, None, None].expand(-1, len(x), 1))
        log_joint = log_joint + Normal(0.0, 1.0).log_prob(z)[:, None]
        weights = torch.full_like(z, z[1] - z[0])
        weights[[0, -1]] /= 2
        return torch.logsumexp(log_joint + weights.log()[:, None], dim=0)


def test_one_latent_unit_matches_numerical_integration():
    model = GridModel()
    x = torch.tensor(
        [[0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 0]], dtype=torch.float64
    ).view(4, 1, 2, 2)
    exact = model.log_likelihood_on_grid(x)
    estimate = iw_log_likelihood(model, x, 20_000, torch.Generator().manual_seed(5))
    elbo = iw_log_likelihood(model, x, 1, torch.Generator().manual_seed(5))
    assert torch.allclose(estimate, exact, atol=0.01), f"{estimate} vs grid {exact}"
    assert (exact - elbo).abs().max() > 0.05, "the test needs a q far enough from the posterior"


def test_one_sample_is_the_elbo_estimator(tiny_vae):
    model, x = tiny_vae
    generator = torch.Generator().manual_seed(6)
    eps = torch.randn(1, len(x), model.config.latent_dim, generator=generator)
    log_w = log_importance_weights(model, x, 1, eps=eps)[0]
    # independently: log p(x | z) + log N(z; 0, 1) - log N(z; mu, sigma) with torch.distributions
    mu, logvar = model.encoder(x)
    z = mu + (0.5 * logvar).exp() * eps[0]
    log_prior = Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    reference = model.decoder.log_prob(x, z) + log_prior - log_q
    torch.testing.assert_close(log_w, reference, atol=1e-4, rtol=1e-5)
    # and its mean over many draws is the ELBO of notebook 04 (KL in closed form)
    with torch.no_grad():
        draws = log_importance_weights(model, x, 20_000, torch.Generator().manual_seed(7))
        elbo = elbo_terms(model, x, n_samples=20_000, generator=torch.Generator().manual_seed(8))
    error = draws.std(0) / math.sqrt(20_000)
    difference = (draws.mean(0) - elbo["elbo"]).abs()
    assert (difference < 5 * error + 0.05).all(), f"{difference} vs standard errors {error}"
    k_1 = iw_log_likelihood(model, x, 1, eps=eps)
    torch.testing.assert_close(k_1, log_w.detach())


def test_the_estimate_does_not_depend_on_the_samples_per_pass():
    model = LinearGaussianVAE(exact_posterior=False)
    x = linear_images(30)
    eps = torch.randn(257, 30, LATENT_DIM, generator=torch.Generator().manual_seed(9)).double()
    results = [iw_log_likelihood(model, x, 257, samples_per_pass=n, eps=eps) for n in (1, 7, 257)]
    for result in results[1:]:
        torch.testing.assert_close(result, results[0], atol=1e-10, rtol=0)
    # and the passes are really combined: a wrong combination (mean of per-pass logs) differs
    per_pass = torch.stack(
        [iw_log_likelihood(model, x[:1], 7, eps=eps[s : s + 7, :1]) for s in range(0, 252, 7)]
    )
    assert (per_pass.mean() - results[0][0]).abs() > 1e-6


@pytest.mark.parametrize(
    ("kwargs", "images", "message"),
    [
        ({"k": 0}, None, "k must be a positive integer"),
        ({"k": 2.5}, None, "k must be a positive integer"),
        ({"k": 3}, "nan", "must lie in \\[0, 1\\]"),
        ({"k": 3}, "grey", "binary pixels only"),
        ({"k": 3}, "int", "floating point"),
        ({"k": 3, "samples_per_pass": 0}, None, "samples_per_pass must be a positive integer"),
    ],
)
def test_bad_input_is_explained(tiny_vae, kwargs, images, message):
    model, x = tiny_vae
    if images == "nan":
        x = x.clone()
        x[0, 0, 0, 0] = math.nan
    elif images == "grey":
        x = torch.full_like(x, 0.5)
    elif images == "int":
        x = x.long()
    with pytest.raises((ValueError, TypeError), match=message):
        iw_log_likelihood(model, x, **kwargs)


def test_a_model_on_another_device_is_explained(tiny_vae):
    model, x = tiny_vae
    with pytest.raises(ValueError, match="move one of them"):
        iw_log_likelihood(model.to("meta"), x, 3)


def test_eps_of_the_wrong_shape_is_explained(tiny_vae):
    model, x = tiny_vae
    with pytest.raises(ValueError, match="eps must have shape"):
        iw_log_likelihood(model, x, 4, eps=torch.zeros(4, len(x) + 1, 2))


def test_evaluate_test_reports_the_literature_numbers(tiny_vae):
    model, _ = tiny_vae
    x = torch.bernoulli(torch.full((300, 1, 8, 8), 0.3), generator=torch.Generator().manual_seed(1))
    result = evaluate_test(model, x, k=200, seed=3, images_per_pass=64, samples_per_pass=50)
    assert result["images"] == 300 and result["k"] == 200
    assert result["nll"] < result["negative_elbo"] - 0.1, "IW with k = 200 must beat the ELBO"
    assert result["bits_per_dim"] == pytest.approx(bits_per_dim(result["nll"], 64))
    assert 0 < result["nll_se"] < result["nll"]
    assert result["active_units"] == active_units(model.encoder(x)[0].detach())
    # the same seed gives the same numbers
    assert evaluate_test(model, x, k=200, seed=3, images_per_pass=64, samples_per_pass=50) == (
        result
    )


def test_test_images_are_a_fixed_binarization_of_the_test_split():
    from vae_tutorial import load_data

    data = load_data("digits", seed=0)
    first, again = evaluation.test_images(data, seed=0), evaluation.test_images(data, seed=0)
    assert torch.equal(first, again)
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert first.shape == data.test.images.shape
    assert not torch.equal(first, evaluation.test_images(data, seed=1))
    # each pixel is 1 with probability equal to its grey level
    assert abs(first.mean().item() - data.test.images.mean().item()) < 0.01


def test_a_trained_sized_vae_runs_with_large_k_in_passes():
    torch.manual_seed(0)
    model = VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(16,), latent_dim=3))
    x = torch.bernoulli(torch.full((5, 1, 8, 8), 0.4), generator=torch.Generator().manual_seed(2))
    estimate = iw_log_likelihood(model, x, 3000, torch.Generator().manual_seed(0))
    assert estimate.shape == (5,) and torch.isfinite(estimate).all()


def test_standard_error_is_the_sample_deviation_over_root_n():
    values = torch.tensor([1.0, 2.0, 4.0, 7.0])
    mean, error = evaluation._mean_and_error(values)
    assert mean == pytest.approx(np.mean([1, 2, 4, 7]))
    assert error == pytest.approx(np.std([1, 2, 4, 7], ddof=1) / 2)


def test_the_exact_posterior_is_the_posterior_of_the_linear_model():
    # Bayes' rule on a grid of z for one image: p(z | x) is proportional to p(x | z) p(z)
    model = LinearGaussianVAE(exact_posterior=True)
    x = linear_images(1)
    mu, logvar = model.encoder(x)
    grid = torch.stack(
        torch.meshgrid(*[torch.linspace(-3, 3, 301, dtype=torch.float64)] * 2, indexing="ij"), -1
    ).reshape(-1, 1, 2)
    log_joint = model.decoder.log_prob(x, grid) + Normal(0.0, 1.0).log_prob(grid).sum(-1)
    weights = torch.softmax(log_joint[:, 0], 0)[:, None]
    mean = (weights * grid[:, 0]).sum(0)
    variance = (weights * (grid[:, 0] - mean) ** 2).sum(0)
    torch.testing.assert_close(mean, mu[0].detach(), atol=1e-4, rtol=0)
    torch.testing.assert_close(variance, logvar[0].exp().detach(), atol=1e-4, rtol=1e-3)
