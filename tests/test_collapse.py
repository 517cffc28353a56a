"""Active units (notebook 05), against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_tutorial import active_units, unit_activity

F64 = torch.float64


def test_unit_activity_is_the_variance_of_each_units_mean_over_images():
    mu = torch.randn(50, 4, dtype=F64) * torch.tensor([1.0, 0.5, 0.05, 0.0], dtype=F64)
    expected = np.var(mu.numpy(), axis=0, ddof=1)
    np.testing.assert_allclose(unit_activity(mu).numpy(), expected, rtol=1e-12)
    assert active_units(mu) == 2  # variances about 1, 0.25, 0.0025, 0
    assert active_units(mu, threshold=1e-4) == 3
    with pytest.raises(ValueError):
        unit_activity(mu[:1])
