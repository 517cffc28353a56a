"""vae_tutorial.checks: each check refuses what it should, with a message that says what to do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_tutorial.checks import (
    check_batch,
    check_float_tensor,
    check_latent,
    check_non_negative_int,
    check_positive_int,
    check_same_shape,
    check_unit_range,
)


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "2", None])
def test_positive_int_refuses_what_is_not_a_count(value):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        check_positive_int(value, "n")


def test_counts_pass():
    check_positive_int(1, "n")
    check_non_negative_int(0, "seed")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        check_non_negative_int(-1, "seed")


def test_float_tensor_says_how_to_convert():
    with pytest.raises(TypeError, match="torch.Tensor, got ndarray"):
        check_float_tensor(np.zeros(3), "x")
    with pytest.raises(TypeError, match=r"use x.float\(\) / 255"):
        check_float_tensor(torch.zeros(3, dtype=torch.uint8), "x", "x.float() / 255")


def test_unit_range_refuses_values_outside_0_1_and_nan():
    check_unit_range(torch.tensor([0.0, 0.5, 1.0]))
    check_unit_range(torch.zeros(0))
    for bad in (torch.tensor([0.0, 1.5]), torch.tensor([-0.1]), torch.tensor([0.5, float("nan")])):
        with pytest.raises(ValueError, match=r"\[0, 1\].*NaN"):
            check_unit_range(bad, "x")


def test_batch_shape_is_spelled_out():
    check_batch(torch.zeros(2, 1, 4, 4), (1, 4, 4))
    with pytest.raises(ValueError, match=r"\(batch, 1, 4, 4\), got \(2, 16\)"):
        check_batch(torch.zeros(2, 16), (1, 4, 4))


def test_gaussian_parameters_and_codes():
    check_same_shape(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="must match"):
        check_same_shape(torch.zeros(2, 3), torch.zeros(3, 2))
    check_latent(torch.zeros(5, 2, 3), 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., batch, 3\)"):
        check_latent(torch.zeros(2, 4), 3)
