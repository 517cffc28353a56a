"""Training throughput of the 784-400-20 MLP VAE at batch 128, measured in one run.

    python benchmarks/throughput.py                  # (a) trainer, (b) plain loop, (c) roofline
    python benchmarks/throughput.py --budgets 1 3 10 # ... and the held-out ELBO per time budget
    python benchmarks/throughput.py --budgets 1 3 10 --record benchmarks/RESULTS.md

(a) the package's trainer step (vae_tutorial.training.train_step over vae_tutorial.Batches);
(b) a plain PyTorch loop over DataLoader(TensorDataset), written as most tutorials write it;
(c) the machine's matmul roofline: the step's matmul FLOPs divided by the time that dense
    matmuls of exactly those shapes take, i.e. the throughput if nothing but matmuls ran.
    The step's matmuls are, per linear layer, the forward product and the weight gradient, and
    the input gradient for every layer but the first (the images need no gradient): 14 in all.
The three are timed in interleaved rounds and the medians reported. Then both loops train the
same model for the same epochs, to show that the trainer's speed costs nothing in held-out
ELBO. All three train on
dynamically binarized MNIST (the 8x8 digits stand in without it, and then
the architecture is 64-400-20). Figures are images per second; ratios are within this run.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from vae_tutorial import (
    VAE,
    Batches,
    VAEConfig,
    binarize,
    load_data,
    reparameterize,
    seed_everything,
)
from vae_tutorial.training import TrainConfig, evaluate, fit, make_optimizer, train_step

BATCH = 128


def model_for(data) -> VAE:
    return VAE(VAEConfig(image_shape=data.image_shape, hidden_dims=(400,), latent_dim=20))


def trainer_throughput(data, steps: int) -> float:
    model = model_for(data)
    optimizer = make_optimizer(model, 1e-3)
    config, noise = TrainConfig(batch_size=BATCH), torch.Generator().manual_seed(0)
    batches = Batches(data.train, BATCH, seed=0, drop_last=True)

    def run(n):
        done = 0
        while done < n:
            for x, _ in batches:
                train_step(model, x, optimizer, config, 1.0, noise)
                done += 1
                if done == n:
                    return

    run(10)  # warm-up
    start = time.perf_counter()
    run(steps)
    return steps * BATCH / (time.perf_counter() - start)


def plain_loop(model, data, steps: int | None = None, epochs: int | None = None) -> None:
    """Train as most tutorials do: DataLoader(TensorDataset), per-parameter Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(
        TensorDataset(data.train.images, data.train.labels),
        batch_size=BATCH,
        shuffle=True,
        drop_last=True,
    )
    done, epoch = 0, 0
    while (steps is None or done < steps) and (epochs is None or epoch < epochs):
        for x, _ in loader:
            x = torch.bernoulli(x)
            mu, logvar = model.encoder(x)
            z = reparameterize(mu, logvar)
            probs = torch.sigmoid(model.decoder(z))
            bce = F.binary_cross_entropy(probs, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (bce + kl) / len(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps:
                return
        epoch += 1


def plain_throughput(data, steps: int) -> float:
    model = model_for(data)
    plain_loop(model, data, steps=10)  # warm-up
    start = time.perf_counter()
    plain_loop(model, data, steps=steps)
    return steps * BATCH / (time.perf_counter() - start)


def layer_shapes(image_dim: int) -> list[tuple[int, int]]:
    """(in, out) of every linear layer: encoder body and heads, decoder body and output."""
    return [(image_dim, 400), (400, 20), (400, 20), (20, 400), (400, image_dim)]


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


def elbo_after(data, minutes: float) -> tuple[float, int]:
    """Held-out negative ELBO (nats) after training the default model for ``minutes``."""
    seed_everything(0)
    model = model_for(data)
    optimizer = make_optimizer(model, 1e-3)
    config, noise = TrainConfig(batch_size=BATCH), torch.Generator().manual_seed(0)
    batches = Batches(data.train, BATCH, seed=0)
    deadline, epochs = time.perf_counter() + 60 * minutes, 0
    while time.perf_counter() < deadline:
        for x, _ in batches:
            train_step(model, x, optimizer, config, 1.0, noise)
            if time.perf_counter() >= deadline:
                break
        else:
            epochs += 1
    return held_out_negative_elbo(model, data), epochs


def held_out_negative_elbo(model, data) -> float:
    """On a static binarization of the validation split, seeded as in fit()."""
    held_out = binarize(data.validation.images, torch.Generator().manual_seed(3))
    return evaluate(model.eval(), held_out, seed=4)["negative_elbo"]


def same_epochs(data, epochs: int) -> tuple[float, float]:
    """Held-out negative ELBO after ``epochs`` of the trainer (fit) and of the plain loop."""
    seed_everything(0)
    trained = model_for(data)
    fit(trained, data, TrainConfig(epochs=epochs, batch_size=BATCH), progress=False)
    seed_everything(0)
    plain = model_for(data)
    plain_loop(plain, data, epochs=epochs)
    return held_out_negative_elbo(trained, data), held_out_negative_elbo(plain, data)


def machine() -> list[str]:
    """What the figures depend on: CPU, cores, memory, library versions, and the load."""
    cpu = platform.processor() or platform.machine()
    try:
        models = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")]  # fmt: skip
        cpu = models[0] if models else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores, {memory:.0f} GiB",
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.system()} {platform.release()}",
        f"load average (1 min) at start: {os.getloadavg()[0]:.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per loop")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the ELBO comparison")
    parser.add_argument("--budgets", type=float, nargs="*", default=[], help="minutes")
    parser.add_argument("--record", type=Path, help="also write the figures to this file")
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
    # Interleaved rounds, medians: this machine's speed drifts between runs by more than the
    # gaps between loops, so each ratio compares measurements taken side by side.
    rounds = {"trainer": [], "plain": [], "roofline": [], "gflops": []}
    for _ in range(args.rounds):
        rounds["trainer"].append(trainer_throughput(data, args.steps))
        rounds["plain"].append(plain_throughput(data, args.steps))
        ceiling, gflops = roofline(image_dim, 5 * args.steps)
        rounds["roofline"].append(ceiling)
        rounds["gflops"].append(gflops)
    trainer, plain, ceiling, gflops = (statistics.median(v) for v in rounds.values())
    say(f"medians of {args.rounds} interleaved rounds of {args.steps} steps each:")
    say(f"(a) trainer:             {trainer:10,.0f} images/s")
    say(f"(b) plain loop:          {plain:10,.0f} images/s")
    say(f"(c) matmul roofline:     {ceiling:10,.0f} images/s ({gflops:.1f} GFLOP/s)")
    ratios = [t / p for t, p in zip(rounds["trainer"], rounds["plain"], strict=True)]
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
    say(f"trainer / plain:    {trainer / plain:.2f} (per round: {spread})")
    say(f"trainer / roofline: {trainer / ceiling:.2f}")
    say(f"plain / roofline:   {plain / ceiling:.2f}")
    if args.epochs:
        trainer_nats, plain_nats = same_epochs(data, args.epochs)
        say(f"held-out negative ELBO after {args.epochs} epochs: trainer {trainer_nats:.2f}, "
            f"plain loop {plain_nats:.2f} nats")  # fmt: skip
    for minutes in args.budgets:
        nats, epochs = elbo_after(data, minutes)
        say(f"after {minutes:g} min ({epochs} full epochs): held-out negative ELBO {nats:.2f} nats")
    say(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if args.record:
        command = shlex.join(["python", "benchmarks/throughput.py", *sys.argv[1:]])
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        args.record.write_text(
            "# Training throughput and ELBO per time budget\n\n"
            f"Written by `{command}` on {when}. The held-out negative ELBO is in nats per image, "
            "on a static seeded binarization of the 10,000 validation images, with z sampled "
            "from q(z | x).\n\n```\n" + "\n".join(lines) + "\n```\n"
        )
        print(f"recorded in {args.record}")


if __name__ == "__main__":
    main()
