"""Training throughput of the 784-400-20 MLP VAE at batch 128, measured in one run.

    python benchmarks/throughput.py                   # the loops and the roofline
    python benchmarks/throughput.py --budgets 1 3 10  # ... and the validation ELBO per budget
    python benchmarks/throughput.py --budgets 1 3 10 --record benchmarks/RESULTS.md

Timed side by side, in interleaved rounds (medians), all on dynamically binarized MNIST (the 8x8
digits stand in without it, and then the architecture is 64-400-20):
  trainer     the package's trainer, vae_tutorial.training.train_epoch over vae_tutorial.Batches;
  examples    the PyTorch examples' VAE loop: DataLoader(TensorDataset), sigmoid then
              binary_cross_entropy, default Adam;
  logits      the same loop with binary_cross_entropy_with_logits;
  hand-tuned  what an expert writes in 30 lines: in-memory permuted batches, one uniform draw
              per pixel for binarization, BCE with logits, fused Adam (no torch.compile);
  roofline    the step's matmul FLOPs divided by the time that dense matmuls of exactly those
              shapes take: the throughput if nothing but matmuls ran. Per linear layer: the
              forward product and the weight gradient, and the input gradient for every layer
              but the first (the images need no gradient): 14 matmuls in all.
Then the trainer and the hand-tuned loop train the same model for the same epochs, to show that
speed costs nothing in validation ELBO. Figures are images per second; ratios are within this run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from record import machine, write_section
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from vae_tutorial import (
    VAE,
    Batches,
    Split,
    VAEConfig,
    load_data,
    reparameterize,
    run_generator,
    seed_everything,
    validation_images,
)
from vae_tutorial.training import TrainConfig, evaluate, fit, make_optimizer, train_epoch

BATCH = 128
HIDDEN, LATENT = 400, 20
LEARNING_RATE = 1e-3
WARM_UP_STEPS = 10


def model_for(data) -> VAE:
    return VAE(VAEConfig(image_shape=data.image_shape, hidden_dims=(HIDDEN,), latent_dim=LATENT))


def trainer_throughput(data, steps: int) -> float:
    """The package's trainer over exactly ``steps`` batches (one epoch of a subset)."""
    model = model_for(data)
    optimizer = make_optimizer(model, LEARNING_RATE)
    config, noise = TrainConfig(batch_size=BATCH), run_generator(0, "noise")

    def batches(n: int) -> Batches:
        subset = Split(data.train.images[: n * BATCH], data.train.labels[: n * BATCH])
        return Batches(subset, BATCH, seed=0, drop_last=True)

    train_epoch(model, batches(WARM_UP_STEPS), optimizer, config, noise)
    timed = batches(steps)
    start = time.perf_counter()
    train_epoch(model, timed, optimizer, config, noise)
    return steps * BATCH / (time.perf_counter() - start)


def examples_loop(model, data, steps: int, logits: bool) -> None:
    """The PyTorch examples' loop (with dynamic binarization); ``logits``: BCE with logits."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loader = DataLoader(
        TensorDataset(data.train.images, data.train.labels),
        batch_size=BATCH,
        shuffle=True,
        drop_last=True,
    )
    done = 0
    while done < steps:
        for x, _ in loader:
            x = torch.bernoulli(x)
            mu, logvar = model.encoder(x)
            z = reparameterize(mu, logvar)
            if logits:
                rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum")
            else:
                rec = F.binary_cross_entropy(torch.sigmoid(model.decoder(z)), x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (rec + kl) / len(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                return


def hand_tuned_loop(model, data, steps: int, seed: int = 0) -> None:
    """The loop an expert writes: whole tensors in memory, fused Adam, BCE with logits."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, fused=True)
    generator = torch.Generator().manual_seed(seed)
    images = data.train.images
    per_epoch = len(images) // BATCH
    done = 0
    while done < steps:
        order = torch.randperm(len(images), generator=generator)
        for i in range(min(per_epoch, steps - done)):
            x = images[order[i * BATCH : (i + 1) * BATCH]]
            x = (torch.rand(x.shape, generator=generator) < x).float()
            mu, logvar = model.encoder(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
            rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (rec + kl) / BATCH
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        done += min(per_epoch, steps - done)


def loop_throughput(loop, data, steps: int) -> float:
    model = model_for(data)
    loop(model, data, WARM_UP_STEPS)
    start = time.perf_counter()
    loop(model, data, steps)
    return steps * BATCH / (time.perf_counter() - start)


def layer_shapes(image_dim: int) -> list[tuple[int, int]]:
    """(in, out) of every linear layer: encoder body and heads, decoder body and output."""
    return [(image_dim, HIDDEN), (HIDDEN, LATENT), (HIDDEN, LATENT), (LATENT, HIDDEN),
            (HIDDEN, image_dim)]  # fmt: skip


def roofline(image_dim: int, repeats: int) -> tuple[float, float]:
    """(images per second if only the step's matmuls ran, GFLOP/s they reach).

    Per linear layer, in the layouts the step uses: the forward product x @ w.T, the weight
    gradient g.T @ x and the input gradient g @ w, the last for every layer but the first,
    whose input (the images) needs no gradient. 14 matmuls in all.
    """
    layers, flops = [], 0
    for i, (fan_in, fan_out) in enumerate(layer_shapes(image_dim)):
        x, w, g = (
            torch.randn(BATCH, fan_in),
            torch.randn(fan_out, fan_in),
            torch.randn(BATCH, fan_out),
        )
        layers.append((x, w, g, i > 0))
        flops += (3 if i > 0 else 2) * 2 * BATCH * fan_in * fan_out

    def step():
        for x, w, g, input_gradient in layers:
            x @ w.T
            g.T @ x
            if input_gradient:
                g @ w

    for _ in range(20):
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    seconds = (time.perf_counter() - start) / repeats
    return BATCH / seconds, flops / seconds / 1e9


def validation_negative_elbo(model, data) -> float:
    """On the static binarization of the validation split that fit() uses for seed 0."""
    return evaluate(model.eval(), validation_images(data, 0), seed=0)["negative_elbo"]


def elbo_after(data, minutes: float) -> tuple[float, int, float]:
    """Validation negative ELBO (nats) after training the default model for ``minutes``.

    Whole epochs only, as long as one more fits in the budget at the last epoch's pace.
    :return: the nats, the epochs, and the minutes actually spent training.
    """
    seed_everything(0)
    model = model_for(data)
    optimizer = make_optimizer(model, LEARNING_RATE)
    config, noise = TrainConfig(batch_size=BATCH), run_generator(0, "noise")
    batches = Batches(data.train, BATCH, seed=0)
    start = time.perf_counter()
    deadline, epochs, last = start + 60 * minutes, 0, 0.0
    while time.perf_counter() + last <= deadline:
        epoch_start = time.perf_counter()
        train_epoch(model, batches, optimizer, config, noise, epochs * len(batches))
        epochs, last = epochs + 1, time.perf_counter() - epoch_start
    spent = (time.perf_counter() - start) / 60
    return validation_negative_elbo(model, data), epochs, spent


def same_epochs(data, epochs: int) -> tuple[float, float]:
    """Validation negative ELBO after ``epochs`` of the trainer (fit) and of the hand-tuned loop."""
    seed_everything(0)
    trained = model_for(data)
    fit(trained, data, TrainConfig(epochs=epochs, batch_size=BATCH), progress=False)
    seed_everything(0)
    hand = model_for(data)
    hand_tuned_loop(hand, data, epochs * (len(data.train) // BATCH))
    return validation_negative_elbo(trained, data), validation_negative_elbo(hand, data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per loop")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved repetitions")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the ELBO comparison")
    parser.add_argument("--budgets", type=float, nargs="*", default=[], help="minutes")
    parser.add_argument("--record", help="also write the figures to this results file")
    args = parser.parse_args()
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    seed_everything(0)
    data = load_data("auto")
    image_dim = math.prod(data.image_shape)
    for line in machine():
        say(line)
    say(f"data: {data.name}, {len(data.train):,} training images of {data.image_shape}")
    loops = {
        "trainer": lambda: trainer_throughput(data, args.steps),
        "examples": lambda: loop_throughput(
            lambda m, d, n: examples_loop(m, d, n, logits=False), data, args.steps
        ),
        "logits": lambda: loop_throughput(
            lambda m, d, n: examples_loop(m, d, n, logits=True), data, args.steps
        ),
        "hand-tuned": lambda: loop_throughput(hand_tuned_loop, data, args.steps),
    }
    # Interleaved rounds, medians: this machine's speed drifts between runs by more than the
    # gaps between loops, so each ratio compares measurements taken side by side.
    rounds: dict[str, list[float]] = {name: [] for name in [*loops, "roofline", "gflops"]}
    for _ in range(args.rounds):
        for name, measure in loops.items():
            rounds[name].append(measure())
        ceiling, gflops = roofline(image_dim, 5 * args.steps)
        rounds["roofline"].append(ceiling)
        rounds["gflops"].append(gflops)
    median = {name: statistics.median(values) for name, values in rounds.items()}
    say(f"medians of {args.rounds} interleaved rounds of {args.steps} steps, images per second:")
    say(f"trainer:                              {median['trainer']:10,.0f}")
    say(f"PyTorch examples loop (sigmoid + BCE): {median['examples']:10,.0f}")
    say(f"the same loop, BCE with logits:       {median['logits']:10,.0f}")
    say(f"hand-tuned loop:                      {median['hand-tuned']:10,.0f}")
    say(f"matmul roofline:                      {median['roofline']:10,.0f} "
        f"({median['gflops']:.1f} GFLOP/s)")  # fmt: skip
    # A ratio is the median of the per-round ratios: each compares two loops timed side by side.
    spreads = []
    for other, label in (("hand-tuned", "hand-tuned loop"), ("logits", "logits plain loop"),
                         ("examples", "examples loop"), ("roofline", "roofline")):  # fmt: skip
        per_round = [t / o for t, o in zip(rounds["trainer"], rounds[other], strict=True)]
        say(f"trainer / {label}: {statistics.median(per_round):.2f}")
        spreads.append(f"{label} {min(per_round):.2f}-{max(per_round):.2f}")
    say("per-round range of each ratio: " + ", ".join(spreads))
    per_round = [h / r for h, r in zip(rounds["hand-tuned"], rounds["roofline"], strict=True)]
    say(f"hand-tuned loop / roofline: {statistics.median(per_round):.2f}")
    if args.epochs:
        trainer_nats, hand_nats = same_epochs(data, args.epochs)
        say(f"validation negative ELBO after {args.epochs} epochs: trainer {trainer_nats:.2f}, "
            f"hand-tuned loop {hand_nats:.2f} nats")  # fmt: skip
    for minutes in args.budgets:
        nats, epochs, spent = elbo_after(data, minutes)
        say(f"after {minutes:g} min ({epochs} epochs in {spent:.2f} min): "
            f"validation negative ELBO {nats:.2f} nats")  # fmt: skip
    if args.record:
        write_section(
            args.record,
            "throughput",
            "Training throughput",
            "The validation negative ELBO is in nats per image, on the static seeded "
            "binarization of the 10,000 validation images (`validation_images(data, 0)`), "
            "with z sampled from q(z | x).",
            lines,
        )


if __name__ == "__main__":
    main()
