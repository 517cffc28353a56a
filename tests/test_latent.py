"""vae_tutorial.latent against independent references (closed forms, NumPy, brute force)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_tutorial.latent import (
    lerp,
    nearest_distance,
    prior_grid,
    slerp,
    traversal,
)


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cosine = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))
    return torch.arccos(cosine.clamp(-1, 1))


# --- prior_grid ----------------------------------------------------------------------------


def test_prior_grid_sits_at_the_normal_quantiles():
    grid = prior_grid(5)
    assert grid.shape == (25, 2)
    # Phi^{-1}(0.5) = 0, and Phi^{-1}(0.9) = 1.2815515655446004 (a closed-form table value)
    values = grid[:5, 0]
    torch.testing.assert_close(values[2], torch.tensor(0.0))
    torch.testing.assert_close(values[4], torch.tensor(1.2815515655446004))
    torch.testing.assert_close(values, -values.flip(0))  # symmetric about 0
    # cdf of every coordinate is (i + 1/2) / n, via erf (no torch.distributions)
    cdf = 0.5 * (1 + torch.erf(grid.double() / math.sqrt(2)))
    levels = {round(v, 6) for v in cdf.flatten().tolist()}
    assert levels == {0.1, 0.3, 0.5, 0.7, 0.9}


def test_prior_grid_is_in_reading_order():
    grid = prior_grid(4).reshape(4, 4, 2)
    assert (grid[:, 1:, 0] > grid[:, :-1, 0]).all()  # z1 grows left to right
    assert (grid[1:, :, 1] < grid[:-1, :, 1]).all()  # z2 shrinks top to bottom
    assert (grid[:, :, 1] == grid[:, :1, 1]).all()  # one z2 per row


def test_prior_grid_rejects_other_dimensions():
    with pytest.raises(ValueError, match="latent_dim = 2"):
        prior_grid(3, latent_dim=3)
    with pytest.raises(ValueError):
        prior_grid(0)


# --- lerp and slerp ------------------------------------------------------------------------


def test_lerp_is_the_straight_line():
    z0, z1 = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -2.0])
    path = lerp(z0, z1, torch.tensor([0.0, 0.25, 1.0]))
    torch.testing.assert_close(path, torch.tensor([[1.0, 2.0], [1.5, 1.0], [3.0, -2.0]]))


def test_slerp_hits_both_endpoints_and_keeps_equal_norms():
    generator = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 3, 16, generator=generator, dtype=torch.float64)
    z1 = z1 / z1.norm(dim=-1, keepdim=True) * z0.norm(dim=-1, keepdim=True)  # equal norms
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    path = slerp(z0, z1, t)
    assert path.shape == (11, 3, 16)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    torch.testing.assert_close(path.norm(dim=-1), z0.norm(dim=-1).expand(11, 3))
    # the angle to z0 grows in proportion to t
    omega = _angle(z0, z1)
    torch.testing.assert_close(_angle(path, z0.expand_as(path)), t[:, None] * omega)


def test_slerp_matches_a_numpy_reference_for_unequal_norms():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=5), 3 * rng.normal(size=5)
    omega = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    ts = np.array([0.1, 0.5, 0.8])
    expected = [(np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega) for t in ts]
    actual = slerp(torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(ts))
    np.testing.assert_allclose(actual.numpy(), np.array(expected), rtol=1e-10)


def test_slerp_follows_lerp_in_direction_for_small_angles():
    z0 = torch.tensor([3.0, 4.0, 0.0], dtype=torch.float64)
    z1 = torch.tensor([3.0, 4.0, 1e-3], dtype=torch.float64)
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    spherical, linear = slerp(z0, z1, t), lerp(z0, z1, t)
    directions = spherical / spherical.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(directions, linear / linear.norm(dim=-1, keepdim=True))
    torch.testing.assert_close(spherical, linear, rtol=0, atol=1e-6)


@pytest.mark.parametrize("factor", [2.0, -1.0, 0.0])
def test_slerp_falls_back_to_lerp_for_collinear_codes(factor):
    z0 = torch.tensor([1.0, -2.0, 0.5])
    z1 = factor * z0
    t = torch.tensor([0.0, 0.3, 0.5, 1.0])
    path = slerp(z0, z1, t)
    assert torch.isfinite(path).all()
    torch.testing.assert_close(path, lerp(z0, z1, t))


def test_slerp_mixes_collinear_and_general_rows():
    z0 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    z1 = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    mid = slerp(z0, z1, torch.tensor([0.5]))[0]
    torch.testing.assert_close(mid[0], torch.tensor([1.5, 0.0]))
    torch.testing.assert_close(mid[1], torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))


def test_interpolation_checks_shapes():
    with pytest.raises(ValueError, match="one shape"):
        slerp(torch.zeros(3), torch.zeros(4), [0.5])
    with pytest.raises(ValueError, match="one shape"):
        lerp(torch.zeros(3), torch.zeros(2, 3), [0.5])


# --- encoding, distances, traversal, sampling ---------------------------------------------


def test_nearest_distance_matches_brute_force():
    generator = torch.Generator().manual_seed(3)
    queries = torch.randn(30, 2, generator=generator, dtype=torch.float64)
    codes = torch.randn(50, 2, generator=generator, dtype=torch.float64)
    brute = np.array([min(np.linalg.norm(q - c) for c in codes.numpy()) for q in queries.numpy()])
    np.testing.assert_allclose(nearest_distance(queries, codes, batch_size=8).numpy(), brute, 1e-5)
    own = nearest_distance(codes, codes, batch_size=8, exclude_self=True)
    others = [
        min(np.linalg.norm(c - d) for j, d in enumerate(codes.numpy()) if j != i)
        for i, c in enumerate(codes.numpy())
    ]
    np.testing.assert_allclose(own.numpy(), np.array(others), rtol=1e-5)


def test_traversal_moves_one_unit_at_a_time():
    z = torch.tensor([0.5, -1.0, 2.0])
    values = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    codes = traversal(z, values)
    assert codes.shape == (3, 4, 3)
    for unit in range(3):
        for step, value in enumerate(values):
            expected = z.clone()
            expected[unit] = value
            torch.testing.assert_close(codes[unit, step], expected)


# --- the explorer --------------------------------------------------------------------------
