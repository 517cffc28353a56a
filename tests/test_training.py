"""vae_tutorial.training: reproducible, resumable, guarded training (notebook 05)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vae_tutorial import VAE, VAEConfig, load_data
from vae_tutorial.training import (
    TrainConfig,
    TrainingError,
    evaluate,
    fit,
    free_bits_kl,
    kl_weight,
    make_optimizer,
    train_step,
)


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", verbose=False)


def _model(seed=0):
    torch.manual_seed(seed)
    return VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(32,), latent_dim=4))


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_training_lowers_the_held_out_negative_elbo(digits):
    history = fit(_model(), digits, TrainConfig(epochs=5, batch_size=64), progress=False)
    assert len(history["valid_negative_elbo"]) == 5
    assert history["valid_negative_elbo"][-1] < history["valid_negative_elbo"][0] - 5
    for name in ("train_loss", "train_reconstruction", "train_kl", "valid_kl"):
        assert len(history[name]) == 5


def test_seeded_cpu_runs_reproduce_exactly(digits):
    config = TrainConfig(epochs=2, batch_size=64, seed=3)
    a, b = _model(), _model()
    history_a = fit(a, digits, config, progress=False)
    history_b = fit(b, digits, config, progress=False)
    assert torch.equal(_weights(a), _weights(b)) and history_a == history_b
    c = _model()
    fit(c, digits, dataclasses.replace(config, seed=4), progress=False)
    assert not torch.equal(_weights(a), _weights(c))


def test_resume_continues_to_exactly_the_uninterrupted_result(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=64, warmup_epochs=1.5)
    straight = _model()
    history = fit(straight, digits, config, progress=False)
    # An interrupted run: stopped after the checkpoint of epoch 1, then resumed from it.
    path = tmp_path / "run.pt"

    def interrupt(epoch, record):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(_model(), digits, config, checkpoint=path, progress=False, on_epoch_end=interrupt)
    resumed = _model(seed=99)  # whatever the initial weights, the checkpoint replaces them
    resumed_history = fit(resumed, digits, config, checkpoint=path, progress=False)
    assert torch.equal(_weights(resumed), _weights(straight))
    assert resumed_history == history
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]  # no temporary files left


def test_a_checkpoint_of_another_configuration_is_refused(digits, tmp_path):
    path = tmp_path / "run.pt"
    fit(_model(), digits, TrainConfig(epochs=1, batch_size=64), checkpoint=path, progress=False)
    with pytest.raises(TrainingError, match="another configuration"):
        fit(_model(), digits, TrainConfig(epochs=2, batch_size=32), checkpoint=path, progress=False)


def test_divergence_stops_with_a_message(digits):
    with pytest.raises(TrainingError, match="lower the learning rate"):
        fit(_model(), digits, TrainConfig(epochs=1, learning_rate=1e6), progress=False)
    with pytest.raises(TrainingError, match="gradient norm"):
        fit(_model(), digits, TrainConfig(epochs=1, max_grad_norm=1e-3), progress=False)


def test_the_fused_adam_takes_the_same_steps_as_plain_adam(digits):
    config = TrainConfig()
    plain, fused = _model(), _model()
    reference = torch.optim.Adam(plain.parameters(), lr=1e-3, foreach=False)
    optimizer = make_optimizer(fused, 1e-3)
    pixels = torch.Generator().manual_seed(0)
    noise_a, noise_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    for _ in range(30):
        x = torch.bernoulli(digits.train.images[:64], generator=pixels)
        logs_a = train_step(plain, x, reference, config, 1.0, noise_a)
        logs_b = train_step(fused, x, optimizer, config, 1.0, noise_b)
    assert logs_a == pytest.approx(logs_b, rel=1e-4)
    torch.testing.assert_close(_weights(fused), _weights(plain), rtol=1e-4, atol=1e-5)
    assert not torch.equal(_weights(plain), _weights(_model()))  # it did train


def test_beta_weights_the_kl_term(digits):
    # beta = 0 leaves the KL unpenalised: the posteriors drift far from the prior.
    config = TrainConfig(epochs=3, batch_size=64)
    with_kl = fit(_model(), digits, config, progress=False)
    without = fit(_model(), digits, dataclasses.replace(config, beta=0.0), progress=False)
    assert without["valid_kl"][-1] > 2 * with_kl["valid_kl"][-1]
    assert without["valid_reconstruction"][-1] > with_kl["valid_reconstruction"][-1]


def test_kl_warm_up_schedule():
    assert kl_weight(0, 10, 0.0) == 1.0
    assert [kl_weight(s, 10, 2.0) for s in (0, 5, 10, 20, 30)] == [0.0, 0.25, 0.5, 1.0, 1.0]


def test_free_bits_only_penalise_the_kl_above_the_floor():
    mu = torch.tensor([[0.1, 3.0], [-0.1, 3.0]])
    logvar = torch.zeros(2, 2)
    per_unit = 0.5 * mu.pow(2).mean(0)  # sigma = 1: KL_j = mu_j^2 / 2
    assert free_bits_kl(mu, logvar, 0.0) == pytest.approx(per_unit.sum().item())
    assert free_bits_kl(mu, logvar, 1.0) == pytest.approx(1.0 + per_unit[1].item())


def test_evaluation_samples_z_and_is_seeded(digits):
    model = _model()
    x = torch.bernoulli(digits.validation.images, generator=torch.Generator().manual_seed(0))
    a, b = evaluate(model, x, seed=1), evaluate(model, x, seed=1)
    assert a == b and evaluate(model, x, seed=2) != a
    assert a["negative_elbo"] == pytest.approx(-a["reconstruction"] + a["kl"])


@pytest.mark.parametrize(
    "field, value",
    [("epochs", 0), ("batch_size", 1.5), ("learning_rate", 0.0), ("free_bits", -1), ("beta", -0.5)],
)
def test_bad_config_is_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})
