"""A small, visible training loop: plain functions, one frozen config. Notebook 05.

Everything random draws from generators that the checkpoint saves (batch order, binarization,
the noise of the reparameterization trick), so a run resumed from a checkpoint continues to
exactly the same result as one that was never interrupted, on the CPU.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .batches import Batches, validation_images
from .checks import check_positive_int
from .data import DigitData
from .elbo import elbo_terms, negative_elbo
from .utils import run_generator, stream_seed

EVALUATION_BATCH = 1000  # images per forward pass when evaluating; bounds the memory
PROGRESS_EVERY = 20  # steps between updates of the progress bar's loss


class TrainingError(RuntimeError):
    """Training stopped because something went wrong; the message says what and what to try."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run besides the model.

    Introduced in notebook 05.
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    beta: float = 1.0  # weight of the KL term (Higgins et al. 2017); 1 is the ELBO
    warmup_epochs: float = 0.0  # KL weight rises linearly from 0 to beta over these epochs
    free_bits: float = 0.0  # nats per latent unit below which the KL is not penalised
    max_grad_norm: float = 1e4  # a larger gradient norm stops training (an explosion)
    eval_samples: int = 1  # samples of z per image in the validation ELBO

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_samples"):
            check_positive_int(getattr(self, name), name)
        for name in ("learning_rate", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("beta", "warmup_epochs", "free_bits"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")


def kl_weight(step: int, steps_per_epoch: int, warmup_epochs: float) -> float:
    """KL warm-up (Bowman et al. 2016; Sønderby et al. 2016): 0 at step 0, 1 after warm-up.

    Introduced in notebook 05.
    """
    if warmup_epochs == 0:
        return 1.0
    return min(1.0, step / (warmup_epochs * steps_per_epoch))


def make_optimizer(model: torch.nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015), fused: one kernel per weight tensor does the whole update.

    Introduced in notebook 05. PyTorch's default Adam on a CPU runs about ten small operations
    per weight tensor, which at batch 128 takes 3-5x as long as the fused kernel
    (benchmarks/throughput.py measures the whole step). Elsewhere (e.g. Apple's MPS) the
    default implementation is used.
    """
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=fused or None)


def _check_step(loss: torch.Tensor, grad_norm: torch.Tensor, max_grad_norm: float) -> None:
    """Stop before a bad gradient reaches the weights: NaN/inf (caught as "not <=") or too big."""
    if grad_norm <= max_grad_norm and torch.isfinite(loss):
        return
    if not torch.isfinite(grad_norm) or not torch.isfinite(loss):
        raise TrainingError(
            f"the loss became {loss.item()} (gradient norm {grad_norm.item()}); "
            "lower the learning rate or check the data (pixels in [0, 1]? NaN?)"
        )
    raise TrainingError(
        f"the gradient norm reached {grad_norm.item():.3g} > max_grad_norm="
        f"{max_grad_norm:g}: training is diverging; lower the learning rate"
    )


def train_epoch(
    model: torch.nn.Module,
    batches: Batches,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    noise: torch.Generator,
    first_step: int = 0,
    progress: bool = False,
    description: str = "training",
) -> dict[str, float]:
    """One pass over ``batches``: a gradient step on ``negative_elbo`` per batch.

    Introduced in notebook 05. Every step's gradient norm is checked before the optimizer
    uses it, so a NaN, an explosion or a bad batch stops training with the weights of the last
    good step. The batch means of the terms stay tensors until the epoch ends: no
    per-step conversion to Python numbers.

    :param noise: draws eps in z = mu + sigma * eps.
    :param first_step: the number of steps taken before this epoch (for the KL warm-up).
    :return: means over the epoch's batches, in nats per image: ``loss``, ``reconstruction``,
        ``kl``, and the mean gradient norm ``grad_norm``.
    """
    steps_per_epoch = len(batches)
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    logs = []
    bar = tqdm(batches, desc=description, disable=not progress, leave=False)
    for i, (x, _) in enumerate(bar):
        beta = config.beta * kl_weight(first_step + i, steps_per_epoch, config.warmup_epochs)
        loss, terms = negative_elbo(model, x, beta, config.free_bits, generator=noise)
        for parameter in parameters:  # optimizer.zero_grad(set_to_none=True), without its hooks
            parameter.grad = None
        loss.backward()
        grad_norm = torch.nn.utils.get_total_norm(
            [p.grad for p in parameters if p.grad is not None]
        )
        _check_step(loss, grad_norm, config.max_grad_norm)
        optimizer.step()
        logs.append(torch.stack([loss.detach(), terms["reconstruction"], terms["kl"], grad_norm]))
        if progress and i % PROGRESS_EVERY == 0:
            bar.set_postfix(loss=f"{loss.item():.2f}")
    means = torch.stack(logs).mean(0).tolist()
    return dict(zip(("loss", "reconstruction", "kl", "grad_norm"), means, strict=True))


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    x: torch.Tensor,
    n_samples: int = 1,
    seed: int = 0,
    batch_size: int = EVALUATION_BATCH,
) -> dict[str, float]:
    """Validation (or test) ELBO terms in nats per image, with z sampled from q(z | x).

    Introduced in notebook 05. Calls ``elbo_terms``, never z = mu.

    :param x: (n, 1, height, width), already binarized (see ``validation_images``) so that every
        evaluation scores the same binary images.
    :param seed: seeds the noise eps; ``fit`` passes the run's ``"evaluation"`` stream.
    :return: ``reconstruction``, ``kl``, ``elbo`` and ``negative_elbo``, means over x.
    """
    generator = torch.Generator(device=x.device).manual_seed(seed)
    totals = {"reconstruction": 0.0, "kl": 0.0, "elbo": 0.0}
    for start in range(0, len(x), batch_size):
        terms = elbo_terms(model, x[start : start + batch_size], n_samples, generator)
        for name in totals:
            totals[name] += terms[name].sum().item()
    result = {name: value / len(x) for name, value in totals.items()}
    result["negative_elbo"] = -result["elbo"]
    return result


def _save_atomically(state: dict, path: Path) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_checkpoint(path: Path | str) -> dict:
    """A checkpoint written by ``fit``, loaded onto the CPU whatever device wrote it.

    Introduced in notebook 05. The random generators' states must stay CPU byte tensors
    (``Generator.set_state`` takes nothing else, even for a CUDA generator); ``fit`` copies the
    weights and the optimizer state to the model's device itself.
    """
    return torch.load(path, map_location="cpu", weights_only=True)


def fit(
    model: torch.nn.Module,
    data: DigitData,
    config: TrainConfig = TrainConfig(),
    checkpoint: Path | str | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, list[float]]:
    """Train with Adam on dynamically binarized data; evaluate on the validation split.

    Introduced in notebook 05. After every epoch the validation ELBO is measured (on a static,
    seeded binarization of the validation images) and, if ``checkpoint`` is given, the model,
    optimizer, history and every random generator are saved there atomically. If the checkpoint
    exists, training resumes from it. ``on_epoch_end(epoch, record)`` is called after that, with
    the epoch's number (from 1) and its entries of the history.

    :return: history: per epoch, the training loss, reconstruction and KL (batch means), and the
        validation reconstruction, KL, ELBO and negative ELBO, all in nats per image.
    """
    device = next(model.parameters()).device
    optimizer = make_optimizer(model, config.learning_rate)
    batches = Batches(data.train, config.batch_size, seed=config.seed, device=device)
    noise = run_generator(config.seed, "noise", device)
    validation = validation_images(data, config.seed, device)
    evaluation_seed = stream_seed(config.seed, "evaluation")
    history: dict[str, list[float]] = {}
    epoch = 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint)
        if state["config"] != asdict(config):
            raise TrainingError(
                f"{checkpoint} was written with another configuration; "
                "use a new checkpoint path or the same TrainConfig"
            )
        model.load_state_dict(state["model"])  # copies the CPU tensors onto the model's device
        optimizer.load_state_dict(state["optimizer"])  # moves its state to the parameters'
        batches.order_generator.set_state(state["order_generator"])
        batches.pixel_generator.set_state(state["pixel_generator"])
        noise.set_state(state["noise_generator"])
        history, epoch = state["history"], state["epoch"]
    steps_per_epoch = len(batches)
    while epoch < config.epochs:
        model.train()
        train = train_epoch(
            model, batches, optimizer, config, noise, epoch * steps_per_epoch, progress,
            f"epoch {epoch + 1}/{config.epochs}",
        )  # fmt: skip
        model.eval()
        scores = evaluate(model, validation, config.eval_samples, seed=evaluation_seed)
        record = {f"train_{k}": v for k, v in train.items()}
        record |= {f"validation_{k}": v for k, v in scores.items()}
        for name, value in record.items():
            history.setdefault(name, []).append(value)
        epoch += 1
        if checkpoint is not None:
            _save_atomically(
                {
                    "config": asdict(config),
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "order_generator": batches.order_generator.get_state(),
                    "pixel_generator": batches.pixel_generator.get_state(),
                    "noise_generator": noise.get_state(),
                    "history": history,
                },
                checkpoint,
            )
        if progress:
            print(f"epoch {epoch}: validation negative ELBO {scores['negative_elbo']:.2f} nats")
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    return history
