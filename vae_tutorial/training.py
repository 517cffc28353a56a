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

from .batches import Batches, binarize
from .data import DigitData
from .elbo import elbo_terms, gaussian_kl
from .reparameterization import reparameterize


class TrainingError(RuntimeError):
    """Training stopped because something went wrong; the message says what and what to try."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run besides the model."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    beta: float = 1.0  # weight of the KL term (Higgins et al. 2017); 1 is the ELBO
    warmup_epochs: float = 0.0  # KL weight rises linearly from 0 to beta over these epochs
    free_bits: float = 0.0  # nats per latent unit below which the KL is not penalised
    max_grad_norm: float = 1e4  # a larger gradient norm stops training (an explosion)
    eval_samples: int = 1  # samples of z per image in the held-out ELBO

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("learning_rate", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("beta", "warmup_epochs", "free_bits"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")


def kl_weight(step: int, steps_per_epoch: int, warmup_epochs: float) -> float:
    """KL warm-up (Bowman et al. 2016; Sønderby et al. 2016): 0 at step 0, 1 after warm-up."""
    if warmup_epochs == 0:
        return 1.0
    return min(1.0, step / (warmup_epochs * steps_per_epoch))


def free_bits_kl(mu: torch.Tensor, logvar: torch.Tensor, free_bits: float) -> torch.Tensor:
    """The KL penalty with free bits (Kingma et al. 2016, Appendix C.8).

    Each latent unit's KL, averaged over the batch, is penalised only above ``free_bits`` nats:
    sum_j max(free_bits, mean_batch KL_j). With free_bits = 0 it is the batch mean of the KL.

    :param mu, logvar: (batch, latent_dim).
    :return: a scalar, nats per image.
    """
    # gaussian_kl sums over the last axis; a trailing axis of size 1 keeps each unit apart.
    per_unit = gaussian_kl(mu.unsqueeze(-1), logvar.unsqueeze(-1)).mean(0)  # (latent_dim,)
    return per_unit.clamp(min=free_bits).sum()


def train_step(
    model: torch.nn.Module,
    x: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    beta: float,
    generator: torch.Generator,
) -> dict[str, float]:
    """One gradient step on the batch x (batch, 1, height, width); returns nats per image."""
    mu, logvar = model.encoder(x)
    z = reparameterize(mu, logvar, generator=generator)
    reconstruction = model.decoder.log_prob(x, z).mean()  # sum over pixels, mean over batch
    penalty = free_bits_kl(mu, logvar, config.free_bits)
    loss = -reconstruction + beta * penalty
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
    grad_norm = torch.nn.utils.get_total_norm([g for g in grads if g is not None])
    if not torch.isfinite(loss) or not torch.isfinite(grad_norm):
        raise TrainingError(
            f"the loss became {loss.item()} (gradient norm {grad_norm.item()}); "
            "lower the learning rate or check the data (pixels in [0, 1]?)"
        )
    if grad_norm > config.max_grad_norm:
        raise TrainingError(
            f"the gradient norm reached {grad_norm.item():.3g} > max_grad_norm="
            f"{config.max_grad_norm:g}: training is diverging; lower the learning rate"
        )
    optimizer.step()
    kl = gaussian_kl(mu.detach(), logvar.detach()).mean()
    return {
        "loss": loss.item(),
        "reconstruction": reconstruction.item(),
        "kl": kl.item(),
        "grad_norm": grad_norm.item(),
    }


def make_optimizer(model: torch.nn.Module, learning_rate: float) -> torch.optim.Adam:
    """Adam (Kingma & Ba 2015), fused: one kernel per weight tensor does the whole update.

    PyTorch's default Adam on a CPU runs about ten small operations per weight tensor, which
    at batch 128 takes 3-5x as long as the fused kernel (benchmarks/throughput.py
    measures the whole step). Elsewhere (e.g. Apple's MPS) the default implementation is used.
    """
    fused = next(model.parameters()).device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=fused or None)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module, x: torch.Tensor, n_samples: int = 1, seed: int = 0, batch_size=1000
) -> dict[str, float]:
    """Held-out ELBO terms in nats per image, with z sampled from q(z | x) (never z = mu).

    :param x: (n, 1, height, width), already binarized (see ``binarize_static``) so that every
        evaluation scores the same binary images.
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


def fit(
    model: torch.nn.Module,
    data: DigitData,
    config: TrainConfig = TrainConfig(),
    checkpoint: Path | str | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, list[float]]:
    """Train with Adam on dynamically binarized data; evaluate on the validation split.

    Introduced in notebook 05. After every epoch the held-out ELBO is measured (on a static,
    seeded binarization of the validation images) and, if ``checkpoint`` is given, the model,
    optimizer, history and every random generator are saved there atomically. If the checkpoint
    exists, training resumes from it. ``on_epoch_end(epoch, record)`` is called after that, with
    the epoch's number (from 1) and its entries of the history.

    :return: history: per epoch, the training loss, reconstruction and KL (batch means), and the
        held-out reconstruction, KL and negative ELBO, all in nats per image.
    """
    device = next(model.parameters()).device
    optimizer = make_optimizer(model, config.learning_rate)
    batches = Batches(data.train, config.batch_size, seed=config.seed, device=device)
    noise = torch.Generator(device=device).manual_seed(config.seed + 2)
    held_out = binarize(data.validation.images, torch.Generator().manual_seed(config.seed + 3))
    held_out = held_out.to(device)
    history: dict[str, list[float]] = {}
    epoch = 0
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if state["config"] != asdict(config):
            raise TrainingError(
                f"{checkpoint} was written with another configuration; "
                "use a new checkpoint path or the same TrainConfig"
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        batches.order_generator.set_state(state["order_generator"])
        batches.pixel_generator.set_state(state["pixel_generator"])
        noise.set_state(state["noise_generator"])
        history, epoch = state["history"], state["epoch"]
    steps_per_epoch = len(batches)
    while epoch < config.epochs:
        model.train()
        sums: dict[str, float] = {}
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress)
        for i, (x, _) in enumerate(bar):
            step = epoch * steps_per_epoch + i
            beta = config.beta * kl_weight(step, steps_per_epoch, config.warmup_epochs)
            logs = train_step(model, x, optimizer, config, beta, noise)
            for name, value in logs.items():
                sums[name] = sums.get(name, 0.0) + value
            if i % 20 == 0:
                bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.2f}")
        model.eval()
        scores = evaluate(model, held_out, config.eval_samples, seed=config.seed + 4)
        record = {f"train_{k}": v / steps_per_epoch for k, v in sums.items()}
        record |= {f"valid_{k}": v for k, v in scores.items()}
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
            print(f"epoch {epoch}: held-out negative ELBO {scores['negative_elbo']:.2f} nats")
        if on_epoch_end is not None:
            on_epoch_end(epoch, record)
    return history
