"""vae_tutorial.training: reproducible, resumable, guarded training (notebook 05)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from vae_tutorial import VAE, Batches, Split, VAEConfig, load_data, run_generator
from vae_tutorial.training import (
    TrainConfig,
    TrainingError,
    evaluate,
    fit,
    kl_weight,
    load_checkpoint,
    make_optimizer,
    train_epoch,
)


@pytest.fixture(scope="module")
def digits():
    return load_data("digits", verbose=False)


def _model(seed=0):
    torch.manual_seed(seed)
    return VAE(VAEConfig(image_shape=(1, 8, 8), hidden_dims=(32,), latent_dim=4))


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_training_lowers_the_validation_negative_elbo(digits):
    history = fit(_model(), digits, TrainConfig(epochs=5, batch_size=64), progress=False)
    assert len(history["validation_negative_elbo"]) == 5
    assert history["validation_negative_elbo"][-1] < history["validation_negative_elbo"][0] - 5
    for name in ("train_loss", "train_reconstruction", "train_kl", "validation_kl"):
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


def _interrupt_after_epoch_1(epoch, record):
    """on_epoch_end for fit: stop, as Ctrl-C would, once epoch 1's checkpoint is written."""
    if epoch == 1:
        raise KeyboardInterrupt


def test_resume_continues_to_exactly_the_uninterrupted_result(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=64, warmup_epochs=1.5)
    straight = _model()
    history = fit(straight, digits, config, progress=False)
    # An interrupted run: stopped after the checkpoint of epoch 1, then resumed from it.
    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(_model(), digits, config, checkpoint=path, progress=False,
            on_epoch_end=_interrupt_after_epoch_1)  # fmt: skip
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
    model = _model()
    with pytest.raises(TrainingError, match="gradient norm"):
        fit(model, digits, TrainConfig(epochs=1, max_grad_norm=1e-3), progress=False)
    assert torch.equal(_weights(model), _weights(_model()))  # the first step never happened


def test_the_fused_adam_takes_the_same_steps_as_plain_adam(digits):
    config = TrainConfig(batch_size=64)
    plain, fused = _model(), _model()
    reference = torch.optim.Adam(plain.parameters(), lr=1e-3, foreach=False)
    optimizer = make_optimizer(fused, 1e-3)
    logs = []
    for model, adam in ((plain, reference), (fused, optimizer)):
        batches = Batches(digits.train, 64, seed=0)
        logs.append(train_epoch(model, batches, adam, config, run_generator(0, "noise")))
    assert logs[0] == pytest.approx(logs[1], rel=1e-4)
    torch.testing.assert_close(_weights(fused), _weights(plain), rtol=1e-4, atol=1e-5)
    assert not torch.equal(_weights(plain), _weights(_model()))  # it did train


def test_a_bad_batch_stops_training_before_it_reaches_the_weights(digits):
    class PoisonedBatches(Batches):
        """The usual batches, but the third one holds a NaN pixel."""

        def __iter__(self):
            for i, (x, labels) in enumerate(super().__iter__()):
                if i == 2:
                    x = x.clone()
                    x[0, 0, 0, 0] = float("nan")
                yield x, labels

    config = TrainConfig(batch_size=64)
    model, reference = _model(), _model()
    poisoned = PoisonedBatches(digits.train, 64, shuffle=False)
    with pytest.raises(ValueError, match="NaN"):
        train_epoch(model, poisoned, make_optimizer(model, 1e-3), config, run_generator(0, "noise"))
    # the reference takes only the two good steps, on the same batches with the same noise
    first_two = Split(digits.train.images[:128], digits.train.labels[:128])
    good = Batches(first_two, 64, shuffle=False)
    train_epoch(reference, good, make_optimizer(reference, 1e-3), config, run_generator(0, "noise"))
    torch.testing.assert_close(_weights(model), _weights(reference), rtol=0, atol=0)


def test_a_checkpoint_loads_on_the_cpu_with_byte_generator_states(digits, tmp_path):
    path = tmp_path / "run.pt"
    fit(_model(), digits, TrainConfig(epochs=1, batch_size=64), checkpoint=path, progress=False)
    state = load_checkpoint(path)
    for name in ("order_generator", "pixel_generator", "noise_generator"):
        assert state[name].device.type == "cpu" and state[name].dtype == torch.uint8
        torch.Generator().set_state(state[name])  # what resuming does with it
    assert all(t.device.type == "cpu" for t in state["model"].values())


@pytest.mark.gpu
def test_fit_resumes_on_a_gpu_to_the_uninterrupted_result(digits, tmp_path):
    config = TrainConfig(epochs=2, batch_size=64)
    straight = _model().cuda()
    history = fit(straight, digits, config, progress=False)
    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(_model().cuda(), digits, config, checkpoint=path, progress=False,
            on_epoch_end=_interrupt_after_epoch_1)  # fmt: skip
    resumed = _model(seed=99).cuda()
    resumed_history = fit(resumed, digits, config, checkpoint=path, progress=False)
    assert resumed_history == pytest.approx(history, rel=1e-5)
    torch.testing.assert_close(_weights(resumed), _weights(straight))


def test_beta_weights_the_kl_term(digits):
    # beta = 0 leaves the KL unpenalised: the posteriors drift far from the prior.
    config = TrainConfig(epochs=3, batch_size=64)
    with_kl = fit(_model(), digits, config, progress=False)
    without = fit(_model(), digits, dataclasses.replace(config, beta=0.0), progress=False)
    assert without["validation_kl"][-1] > 2 * with_kl["validation_kl"][-1]
    assert without["validation_reconstruction"][-1] > with_kl["validation_reconstruction"][-1]


def test_kl_warm_up_schedule():
    assert kl_weight(0, 10, 0.0) == 1.0
    assert [kl_weight(s, 10, 2.0) for s in (0, 5, 10, 20, 30)] == [0.0, 0.25, 0.5, 1.0, 1.0]


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
