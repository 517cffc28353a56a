"""vae_tutorial.batches: binarization and seeded minibatches (notebook 00)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_tutorial import Batches, Split, binarize, binarize_static, load_data

# --- binarization -----------------------------------------------------------------------------


def test_binarize_is_an_unbiased_bernoulli_sample():
    probs = torch.linspace(0, 1, 64).reshape(1, 1, 8, 8)
    generator = torch.Generator().manual_seed(0)
    n = 4000
    draws = torch.stack([binarize(probs, generator) for _ in range(n)])
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    # Independent reference: the mean and variance of torch.distributions.Bernoulli.
    reference = torch.distributions.Bernoulli(probs=probs)
    standard_error = (reference.variance / n).sqrt()
    assert ((draws.mean(0) - reference.mean).abs() <= 5 * standard_error + 1e-6).all()
    assert torch.equal(draws[:, probs == 0].unique(), torch.tensor([0.0]))
    assert torch.equal(draws[:, probs == 1].unique(), torch.tensor([1.0]))


def test_binarize_static_is_seeded_and_binary():
    data = load_data("digits", verbose=False)
    a, b, c = binarize_static(data, 1), binarize_static(data, 1), binarize_static(data, 2)
    assert torch.equal(a.test.images, b.test.images)
    assert not torch.equal(a.test.images, c.test.images)
    assert set(a.train.images.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(a.train.labels, data.train.labels)


# --- batches ----------------------------------------------------------------------------------


def _numbered_split(n: int) -> Split:
    """Image i is filled with i / n, so each batch tells which images it holds."""
    images = (torch.arange(n, dtype=torch.float32) / n).reshape(n, 1, 1, 1).expand(n, 1, 2, 2)
    return Split(images.contiguous(), torch.arange(n))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), batch_size=st.integers(1, 64), seed=st.integers(0, 2**31))
def test_each_epoch_visits_every_example_exactly_once(n, batch_size, seed):
    batches = Batches(_numbered_split(n), batch_size, binarize=None, seed=seed)
    for _ in range(2):
        seen = [labels for _, labels in batches]
        assert len(seen) == len(batches) == -(-n // batch_size)
        assert all(len(s) == batch_size for s in seen[:-1])
        visited = torch.cat(seen)
        assert torch.equal(visited.sort().values, torch.arange(n))


def test_images_and_labels_stay_together():
    split = _numbered_split(100)
    for x, labels in Batches(split, 7, binarize=None, seed=1):
        assert torch.equal(x[:, 0, 0, 0], labels.float() / 100)


def test_drop_last_and_no_shuffle():
    batches = Batches(_numbered_split(10), 4, shuffle=False, binarize=None, drop_last=True)
    assert [labels.tolist() for _, labels in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="no batch"):
        Batches(_numbered_split(3), 4, drop_last=True)


def test_batches_are_reproducible_and_epochs_differ():
    split = load_data("digits", verbose=False).train
    first = [x for x, _ in Batches(split, 32, seed=5)]
    again = [x for x, _ in Batches(split, 32, seed=5)]
    other = [x for x, _ in Batches(split, 32, seed=6)]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], other[0])
    batches = Batches(split, 32, seed=5)
    epoch_1, epoch_2 = ([y for _, y in batches] for _ in range(2))
    assert not torch.equal(torch.cat(epoch_1), torch.cat(epoch_2))


def test_dynamic_binarization_resamples_every_batch():
    split = Split(torch.full((64, 1, 4, 4), 0.5), torch.zeros(64, dtype=torch.int64))
    a, b = (x for x, _ in Batches(split, 32, shuffle=False, seed=0))
    assert set(a.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(a, b)  # same grey images, different draws
    grey = next(iter(Batches(split, 32, binarize=None)))[0]
    assert torch.equal(grey, split.images[:32])


def test_dynamic_binarization_is_an_unbiased_bernoulli_sample():
    probs = torch.linspace(0, 1, 64).reshape(1, 1, 8, 8)
    n = 4000
    split = Split(probs.expand(n, 1, 8, 8).clone(), torch.zeros(n, dtype=torch.int64))
    draws = torch.cat([x for x, _ in Batches(split, 500, shuffle=False, seed=0)])
    assert set(draws.unique().tolist()) == {0.0, 1.0}
    reference = torch.distributions.Bernoulli(probs=probs)
    standard_error = (reference.variance / n).sqrt()
    assert ((draws.mean(0) - reference.mean).abs() <= 5 * standard_error + 1e-6).all()
    assert torch.equal(draws[:, probs[0] == 0].unique(), torch.tensor([0.0]))
    assert torch.equal(draws[:, probs[0] == 1].unique(), torch.tensor([1.0]))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"binarize": "static"}, "binarize must be one of"),
    ],
)
def test_bad_batch_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Batches(_numbered_split(10), **kwargs)


@pytest.mark.gpu
def test_batches_live_on_the_gpu():
    split = _numbered_split(100)
    x, labels = next(iter(Batches(split, 16, device="cuda", seed=0)))
    assert x.device.type == "cuda" and labels.device.type == "cuda"
    assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_uniform_bits_are_24_independent_fair_bits_like_torch_rand():
    from vae_tutorial.batches import UNIFORM_BITS, uniform_bits

    n = 400_000
    k = uniform_bits(torch.Size([n]), torch.Generator().manual_seed(0))
    assert k.dtype == torch.int32 and k.min() >= 0 and k.max() < 2**UNIFORM_BITS
    bits = (k[:, None] >> torch.arange(UNIFORM_BITS)) & 1  # (n, 24)
    # each bit is fair, in even positions (low halves of the 64-bit words) and odd ones alike
    for part in (bits[0::2], bits[1::2]):
        frequency = part.double().mean(0)
        assert ((frequency - 0.5).abs() < 5 * 0.5 / (len(part) ** 0.5)).all(), frequency
    # neighbouring draws (the two halves of one word) are uncorrelated
    u = k.double() / 2**UNIFORM_BITS
    correlation = torch.corrcoef(torch.stack([u[0::2], u[1::2]]))[0, 1]
    assert abs(correlation) < 5 / (n / 2) ** 0.5
    # u = k / 2^24 is uniform on [0, 1): the deciles hold a tenth each, like torch.rand's
    counts = torch.bincount((u * 10).long(), minlength=10).double() / n
    assert ((counts - 0.1).abs() < 5 * (0.09 / n) ** 0.5).all(), counts
