"""The linear VAE and probabilistic PCA (notebook 06), against torch.distributions, scikit-learn
and SciPy."""

from __future__ import annotations

import numpy as np
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from vae_tutorial import LinearVAE, ppca_fit, ppca_log_likelihood, principal_angles

F64 = torch.float64


def _low_rank_data(n=500, dim=8, rank=3, noise=0.1, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(dim, rank, generator=generator, dtype=F64) * 2
    z = torch.randn(n, rank, generator=generator, dtype=F64)
    x = z @ weight.T + 1.5 + noise * torch.randn(n, dim, generator=generator, dtype=F64)
    return x


def test_ppca_log_likelihood_matches_torch_distributions():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(10, 5, generator=generator, dtype=F64)
    mean = torch.randn(5, generator=generator, dtype=F64)
    weight = torch.randn(5, 2, generator=generator, dtype=F64)
    covariance = weight @ weight.T + 0.3 * torch.eye(5, dtype=F64)
    expected = torch.distributions.MultivariateNormal(mean, covariance).log_prob(x)
    torch.testing.assert_close(ppca_log_likelihood(x, mean, weight, 0.3), expected)


def test_ppca_fit_agrees_with_sklearn_and_is_a_maximum():
    x = _low_rank_data()
    mean, weight, sigma2 = ppca_fit(x, 3)
    reference = PCA(n_components=3).fit(x.numpy())  # sklearn's noise_variance_ is pPCA's s2
    np.testing.assert_allclose(mean.numpy(), reference.mean_, rtol=1e-10)
    n = len(x)
    # sklearn divides the covariance by n - 1, Tipping & Bishop (maximum likelihood) by n
    np.testing.assert_allclose(sigma2.item(), reference.noise_variance_ * (n - 1) / n, rtol=1e-8)
    assert principal_angles(weight, torch.from_numpy(reference.components_.T)).max() < 1e-6
    best = ppca_log_likelihood(x, mean, weight, sigma2).sum()
    # any perturbation of the closed form lowers the likelihood; a rotation does not change it
    rotation = torch.linalg.qr(torch.randn(3, 3, dtype=F64))[0]
    torch.testing.assert_close(ppca_log_likelihood(x, mean, weight @ rotation, sigma2).sum(), best)
    for _ in range(5):
        nudged = weight + 0.05 * torch.randn_like(weight)
        assert ppca_log_likelihood(x, mean, nudged, sigma2).sum() < best
        assert ppca_log_likelihood(x, mean, weight, sigma2 * 1.05).sum() < best
        assert ppca_log_likelihood(x, mean + 0.05, weight, sigma2).sum() < best


def test_linear_vae_elbo_matches_monte_carlo_and_is_tight_at_the_ppca_posterior():
    x = _low_rank_data(n=200)
    model = LinearVAE(8, 3).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn_like(p))
        # Monte Carlo estimate of the same ELBO, with torch.distributions
        mu = model.to_mu(x)
        q = torch.distributions.Normal(mu, torch.exp(0.5 * model.encoder_logvar))
        z = q.sample((4_000,))
        decoder = torch.distributions.Normal(model.decoder(z), torch.exp(0.5 * model.logvar))
        prior = torch.distributions.Normal(0.0, 1.0)
        estimate = (
            decoder.log_prob(x).sum(-1) + prior.log_prob(z).sum(-1) - q.log_prob(z).sum(-1)
        ).mean(0)
        torch.testing.assert_close(model.elbo(x).mean(), estimate.mean(), rtol=0, atol=0.05)
        assert (model.elbo(x) <= model.log_likelihood(x) + 1e-9).all()
        # with the pPCA solution and its exact posterior, the bound is tight
        mean, weight, sigma2 = ppca_fit(x, 3)
        precision = weight.T @ weight + sigma2 * torch.eye(3, dtype=F64)  # M, diagonal here
        model.decoder.weight.copy_(weight)
        model.decoder.bias.copy_(mean)
        model.logvar.copy_(sigma2.log())
        model.to_mu.weight.copy_(torch.linalg.solve(precision, weight.T))
        model.to_mu.bias.copy_(-model.to_mu.weight @ mean)
        model.encoder_logvar.copy_((sigma2 / precision.diagonal()).log())
        torch.testing.assert_close(model.elbo(x), model.log_likelihood(x))
        torch.testing.assert_close(
            model.log_likelihood(x), ppca_log_likelihood(x, mean, weight, sigma2)
        )


def test_principal_angles_agree_with_scipy():
    generator = torch.Generator().manual_seed(3)
    a = torch.randn(7, 3, generator=generator, dtype=F64)
    b = torch.randn(7, 3, generator=generator, dtype=F64)
    expected = np.sort(subspace_angles(a.numpy(), b.numpy()))
    np.testing.assert_allclose(principal_angles(a, b).numpy(), expected, atol=1e-10)
    mixed = a @ torch.randn(3, 3, generator=generator, dtype=F64)  # same span
    assert principal_angles(a, mixed).max() < 1e-6
