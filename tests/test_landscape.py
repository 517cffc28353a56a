"""The landscape helpers of notebook 05, each against an independent reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

from vae_tutorial import (
    VAE,
    LinearVAE,
    VAEConfig,
    active_units,
    elbo_with_noise,
    encoder_means,
    interpolate_parameters,
    loss_along_line,
    ppca_fit,
    ppca_log_likelihood,
    principal_angles,
    symmetric_copy,
    unit_activity,
)

F64 = torch.float64


def _small_vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(image_shape=(1, 4, 4), hidden_dims=(6,), latent_dim=3))


def _binary_images(n: int = 32, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 1, 4, 4), 0.4), generator=generator)


def _low_rank_data(n=500, dim=8, rank=3, noise=0.1, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(dim, rank, generator=generator, dtype=F64) * 2
    z = torch.randn(n, rank, generator=generator, dtype=F64)
    x = z @ weight.T + 1.5 + noise * torch.randn(n, dim, generator=generator, dtype=F64)
    return x


def test_unit_activity_is_the_variance_of_each_units_mean_over_images():
    mu = torch.randn(50, 4, dtype=F64) * torch.tensor([1.0, 0.5, 0.05, 0.0], dtype=F64)
    expected = np.var(mu.numpy(), axis=0, ddof=1)
    np.testing.assert_allclose(unit_activity(mu).numpy(), expected, rtol=1e-12)
    assert active_units(mu) == 2  # variances about 1, 0.25, 0.0025, 0
    assert active_units(mu, threshold=1e-4) == 3
    with pytest.raises(ValueError):
        unit_activity(mu[:1])


def test_encoder_means_batches_give_the_same_means():
    model, x = _small_vae(), _binary_images(25)
    torch.testing.assert_close(encoder_means(model, x, batch_size=7), model.encoder(x)[0])


def test_elbo_with_noise_matches_a_direct_computation_with_torch_distributions():
    model, x = _small_vae(), _binary_images(8)
    eps = torch.randn(5, 8, 3)
    mu, logvar = model.encoder(x)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = mu + q.scale * eps
    logits = model.decoder(z).flatten(-3)
    log_lik = torch.distributions.Bernoulli(logits=logits).log_prob(x.flatten(-3)).sum(-1)
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(elbo_with_noise(model, x, eps), log_lik.mean(0) - kl)


def test_interpolation_ends_at_both_models_and_is_linear_in_between():
    a, b = _small_vae(0), _small_vae(1)
    for t, expected in ((0.0, a), (1.0, b)):
        for p, q in zip(
            interpolate_parameters(a, b, t).parameters(), expected.parameters(), strict=True
        ):
            torch.testing.assert_close(p, q)
    middle = interpolate_parameters(a, b, 0.25)
    for p, pa, pb in zip(middle.parameters(), a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, 0.75 * pa + 0.25 * pb)
    x, eps = _binary_images(8), torch.randn(2, 8, 3)
    ts = torch.tensor([0.0, 1.0])
    ends = loss_along_line(a, b, x, ts, eps)
    with torch.no_grad():
        torch.testing.assert_close(ends[0], -elbo_with_noise(a, x, eps).mean())
        torch.testing.assert_close(ends[1], -elbo_with_noise(b, x, eps).mean())


def test_a_symmetric_copy_has_other_weights_but_the_same_function_and_elbo():
    model, x = _small_vae(), _binary_images(16)
    latent_perm, signs = torch.tensor([2, 0, 1]), torch.tensor([-1.0, 1.0, -1.0])
    twin = symmetric_copy(model, latent_perm, signs, torch.randperm(6), torch.randperm(6))
    assert not torch.equal(twin.encoder.to_mu.weight, model.encoder.to_mu.weight)
    with torch.no_grad():
        mu, logvar = model.encoder(x)
        mu_twin, logvar_twin = twin.encoder(x)
        torch.testing.assert_close(mu_twin, signs * mu[:, latent_perm])
        torch.testing.assert_close(logvar_twin, logvar[:, latent_perm])
        z = torch.randn(4, 16, 3)
        torch.testing.assert_close(twin.decoder(signs * z[..., latent_perm]), model.decoder(z))
        eps = torch.randn(4, 16, 3)
        torch.testing.assert_close(
            elbo_with_noise(twin, x, signs * eps[..., latent_perm]), elbo_with_noise(model, x, eps)
        )
    with pytest.raises(ValueError):
        symmetric_copy(model, latent_perm, 2 * signs, torch.arange(6), torch.arange(6))


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
