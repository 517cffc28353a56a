"""The weight-space helpers of notebook 06, each against an independent reference."""

from __future__ import annotations

import pytest
import torch

from vae_tutorial import (
    VAE,
    VAEConfig,
    elbo_terms,
    interpolate_parameters,
    loss_along_line,
    symmetric_copy,
)

F64 = torch.float64


def _small_vae(seed: int = 0) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(image_shape=(1, 4, 4), hidden_dims=(6,), latent_dim=3))


def _binary_images(n: int = 32, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 1, 4, 4), 0.4), generator=generator)


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
        torch.testing.assert_close(ends[0], -elbo_terms(a, x, eps=eps)["elbo"].mean())
        torch.testing.assert_close(ends[1], -elbo_terms(b, x, eps=eps)["elbo"].mean())


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
            elbo_terms(twin, x, eps=signs * eps[..., latent_perm])["elbo"],
            elbo_terms(model, x, eps=eps)["elbo"],
        )
    with pytest.raises(ValueError):
        symmetric_copy(model, latent_perm, 2 * signs, torch.arange(6), torch.arange(6))
