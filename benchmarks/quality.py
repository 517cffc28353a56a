"""Quality per CPU-minute: test -log p(x) of a VAE trained for a fixed wall-clock budget.

    python benchmarks/quality.py --ablation 1                    # what each ingredient gains
    python benchmarks/quality.py --budgets 1 3 10 30 --record benchmarks/RESULTS.md

Needs real MNIST (``VAE_TUTORIAL_DATA`` or ../shared/data/mnist). The recipe trains with the
package's own step (``training.train_epoch``: Adam on dynamically binarized images, the negative
ELBO with one sampled z); what the recipe adds, over the epochs planned to fit in the budget:

  learning rate   peak * (1 + cos(pi e / E)) / 2 at epoch e of E (cosine decay towards 0);
  KL weight       rises linearly from 0 to 1 over the first 10% of the planned epochs: KL
                  warm-up (Bowman et al. 2016; Sønderby et al. 2016);
  architecture    784-512-512-50 with ReLU (the series' default is 784-400-20);
  batch           256 images per step.

Each budget is a separate run from the same seed (the schedule depends on the budget): the
epochs that fit are planned from 20 timed steps, and an epoch starts only if one more
fits at the last epoch's pace. Every model is evaluated in a fresh
process (so its peak memory is the evaluation's own) on the full 10,000-image test set,
binarized once with the seeded ``"test"`` stream (``evaluation.test_images(data, 0)``): the
negative ELBO with one sampled z, and the importance-weighted estimate of -log p(x)
(Burda et al. 2016) with k = 1,000 for budgets under 10 minutes, 5,000 from 10 minutes on.
The ablation trains one model per cumulative ingredient for the same short budget and scores it
on 2,000 validation images (k = 1,000), never on the test set.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from record import machine, write_section

from vae_tutorial import VAE, Batches, VAEConfig, load_data, run_generator, seed_everything
from vae_tutorial.batches import validation_images
from vae_tutorial.evaluation import evaluate_test, test_images
from vae_tutorial.training import TrainConfig, make_optimizer, train_epoch

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "build" / "quality"


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything the benchmark varies; the default is the recipe whose curve is recorded."""

    hidden_dims: tuple[int, ...] = (512, 512)
    latent_dim: int = 50
    batch_size: int = 256
    learning_rate: float = 2e-3  # the peak of the cosine schedule
    cosine: bool = True
    warm_up: float = 0.1  # fraction of the planned epochs over which the KL weight rises to 1


SERIES_DEFAULT = Recipe((400,), 20, 128, 1e-3, cosine=False, warm_up=0.0)
ABLATION = {  # cumulative: each row adds one ingredient to the row above
    "series default: 784-400-20, batch 128, Adam 1e-3": SERIES_DEFAULT,
    "+ 784-512-512-50": dataclasses.replace(SERIES_DEFAULT, hidden_dims=(512, 512), latent_dim=50),
    "+ batch 256": dataclasses.replace(
        SERIES_DEFAULT, hidden_dims=(512, 512), latent_dim=50, batch_size=256
    ),
    "+ cosine schedule, peak 2e-3": dataclasses.replace(Recipe(), warm_up=0.0),
    "+ KL warm-up over 10% (the recipe)": Recipe(),
}


def train_for(data, recipe: Recipe, minutes: float, seed: int = 0) -> tuple[VAE, int, float]:
    """Train a fresh model with ``recipe`` for ``minutes`` of wall-clock time.

    The schedule is planned in epochs: the first 20 steps are timed (and count as training),
    which gives the number of epochs that fit in the budget; the learning rate follows the cosine
    over them epoch by epoch, and the KL weight rises step by step over the first ``warm_up``
    of them (``TrainConfig.warmup_epochs``). Training stops when the planned epochs are done or
    when one more epoch would not fit at the last epoch's pace, whichever comes first.

    :return: the model, the epochs completed, and the minutes spent.
    """
    seed_everything(seed)
    model = VAE(
        VAEConfig(
            image_shape=data.image_shape,
            hidden_dims=recipe.hidden_dims,
            latent_dim=recipe.latent_dim,
        )
    )
    optimizer = make_optimizer(model, recipe.learning_rate)
    batches = Batches(data.train, recipe.batch_size, seed=seed)
    noise = run_generator(seed, "noise")
    start = time.perf_counter()
    # 5 steps to warm up, then 20 timed ones; all of them train the model (with KL weight 0)
    probe_config = TrainConfig(batch_size=recipe.batch_size, beta=0.0)
    for steps in (5, 20):
        probe = Batches(data.train.first(steps * recipe.batch_size), recipe.batch_size, seed=seed)
        probe_start = time.perf_counter()
        train_epoch(model, probe, optimizer, probe_config, noise)
    epoch_seconds = (time.perf_counter() - probe_start) / len(probe) * len(batches)
    budget = 60 * minutes
    planned = max(1, round((budget - (time.perf_counter() - start)) / epoch_seconds))
    warmup_epochs = recipe.warm_up * planned
    epochs, last = 0, 0.0
    while epochs < planned and time.perf_counter() - start + last <= budget:
        learning_rate = recipe.learning_rate
        if recipe.cosine:
            learning_rate *= 0.5 * (1 + math.cos(math.pi * epochs / planned))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        config = TrainConfig(
            batch_size=recipe.batch_size, learning_rate=learning_rate, warmup_epochs=warmup_epochs
        )
        epoch_start = time.perf_counter()
        train_epoch(model, batches, optimizer, config, noise, epochs * len(batches))
        epochs, last = epochs + 1, time.perf_counter() - epoch_start
    return model.eval(), epochs, (time.perf_counter() - start) / 60


def evaluate_in_fresh_process(checkpoint: Path, split: str, n: int, k: int) -> dict:
    """Run ``--evaluate`` in a child process: its peak memory is the evaluation's alone."""
    command = [sys.executable, __file__, "--evaluate", str(checkpoint), split, str(n), str(k)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def evaluate_checkpoint(checkpoint: str, split: str, n: int, k: int) -> None:
    """Child process: load the model, evaluate, print one JSON line."""
    state = torch.load(checkpoint, weights_only=False)
    model = VAE(VAEConfig(**state["config"]))
    model.load_state_dict(state["model"])
    data = load_data("mnist", seed=0)
    if split == "test":
        x = test_images(data, seed=0)[:n]
    else:
        x = validation_images(data, seed=0)[:n]
    start = time.perf_counter()
    result = evaluate_test(model, x, k=k, seed=0)
    result["seconds"] = time.perf_counter() - start
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def save(model: VAE, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    config = dataclasses.asdict(model.config)
    config["image_shape"] = tuple(config["image_shape"])
    config["hidden_dims"] = tuple(config["hidden_dims"])
    torch.save({"config": config, "model": model.state_dict()}, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="*", default=[], help="minutes")
    parser.add_argument("--ablation", type=float, default=0, help="minutes per ingredient")
    parser.add_argument("--record", help="also write the figures to this results file")
    parser.add_argument("--evaluate", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        checkpoint, split, n, k = args.evaluate
        evaluate_checkpoint(checkpoint, split, int(n), int(k))
        return
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    data = load_data("mnist", seed=0)
    for line in machine():
        say(line)
    say(f"recipe: {Recipe()}")
    if args.ablation:
        say(f"ablation: {args.ablation:g} min each, validation images 1-2,000, IW k = 1,000")
        for name, recipe in ABLATION.items():
            model, epochs, spent = train_for(data, recipe, args.ablation)
            path = save(model, CHECKPOINTS / "ablation.pt")
            result = evaluate_in_fresh_process(path, "validation", 2000, 1000)
            say(f"{name}: {epochs} epochs, validation -log p(x) {result['nll']:.2f} "
                f"± {result['nll_se']:.2f}, negative ELBO {result['negative_elbo']:.2f}, "
                f"active units {result['active_units']}")  # fmt: skip
    for minutes in args.budgets:
        model, epochs, spent = train_for(data, Recipe(), minutes)
        path = save(model, CHECKPOINTS / f"recipe-{minutes:g}min.pt")
        k = 5000 if minutes >= 10 else 1000
        result = evaluate_in_fresh_process(path, "test", 10_000, k)
        say(f"after {minutes:g} min ({epochs} epochs): test -log p(x) {result['nll']:.2f} nats "
            f"(IW, k = {k:,}), negative ELBO {result['negative_elbo']:.2f}")  # fmt: skip
        say(f"    trained {spent:.2f} min; standard errors {result['nll_se']:.2f} and "
            f"{result['negative_elbo_se']:.2f}; {result['bits_per_dim']:.4f} bits/dim; "
            f"{result['active_units']} active units of {Recipe().latent_dim}; "
            f"evaluation {result['seconds'] / 60:.1f} min, "
            f"peak memory {result['peak_mib']:.0f} MiB")  # fmt: skip
    if args.record:
        write_section(
            args.record,
            "quality",
            "Quality per CPU-minute",
            "Test -log p(x) in nats per image on the full 10,000-image MNIST test set, binarized "
            "once with a seeded generator (stochastic binarization, `evaluation.test_images(data, "
            "0)`); training used dynamic binarization of the 50,000 training images. "
            "IW: the importance-weighted bound of Burda et al. (2016) with k samples, an "
            "estimate of -log p(x) from above. Separate runs per budget.",
            lines,
        )


if __name__ == "__main__":
    main()
