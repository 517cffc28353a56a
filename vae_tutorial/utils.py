"""Seeding, device choice and an environment report. Introduced in notebook 00."""

from __future__ import annotations

import os
import platform
import random
import sys

import matplotlib
import numpy as np
import sklearn
import torch

from .checks import check_non_negative_int

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch so that a CPU rerun gives the same numbers.

    Introduced in notebook 00.

    :param seed: a non-negative integer.
    :return: a ``torch.Generator`` seeded with ``seed``, for code that takes one explicitly.
    """
    check_non_negative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 -- seeds code that uses the legacy global RNG
    torch.manual_seed(seed)  # also seeds every CUDA device
    # Hash randomisation only affects subprocesses started after this point.
    os.environ["PYTHONHASHSEED"] = str(seed)
    return torch.Generator().manual_seed(seed)


# Each random stream of a training run draws from its own generator, seeded at seed + offset, so
# that one stream (say, the noise of the reparameterization trick) can be replayed alone.
STREAMS = {"order": 0, "pixels": 1, "noise": 2, "validation": 3, "evaluation": 4, "test": 5}


def stream_seed(seed: int, stream: str) -> int:
    """The seed of one random stream of a training run: ``seed`` plus the stream's offset.

    Introduced in notebook 00.
    """
    check_non_negative_int(seed, "seed")
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {tuple(STREAMS)}, got {stream!r}")
    return seed + STREAMS[stream]


def run_generator(
    seed: int, stream: str, device: torch.device | str | None = None
) -> torch.Generator:
    """The generator of one random stream of the training run seeded with ``seed``.

    Introduced in notebook 00. Streams: ``"order"`` (the batch order, always on the CPU),
    ``"pixels"`` (dynamic binarization), ``"noise"`` (eps in z = mu + sigma * eps while
    training), ``"validation"`` (the one static binarization of the validation images) and
    ``"evaluation"`` (eps when the validation ELBO is measured) and ``"test"`` (the one static
    binarization of the test images, notebook 08). ``fit``, the notebooks and the
    benchmark all take their generators from here.
    """
    generator_seed = stream_seed(seed, stream)
    device = torch.device("cpu") if stream == "order" or device is None else torch.device(device)
    return torch.Generator(device=device).manual_seed(generator_seed)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preference: str = "auto") -> torch.device:
    """Return the device to compute on.

    Introduced in notebook 00.

    :param preference: ``"auto"`` picks CUDA, then Apple MPS, then the CPU;
        ``"cpu"``, ``"cuda"`` or ``"mps"`` ask for one and fail clearly if it is missing.
    """
    if preference not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}, got {preference!r}")
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device='cuda' was requested but PyTorch sees no CUDA GPU "
            f"(torch {torch.__version__}). Use device='auto' or 'cpu'."
        )
    if preference == "mps" and not _mps_available():
        raise RuntimeError(
            "device='mps' was requested but Apple's MPS backend is not available. "
            "Use device='auto' or 'cpu'."
        )
    return torch.device(preference)


def headless() -> bool:
    """Whether this kernel runs without anyone watching: papermill runs of the series (``make
    tutorial``, the tests, ``make outputs``) and nbgrader's grading. Notebooks then turn their
    progress bars off, so that committed outputs and feedback hold results, not bars.

    Introduced in notebook 05.
    """
    return "VAE_TUTORIAL_HEADLESS" in os.environ or "NBGRADER_EXECUTION" in os.environ


def environment_report(device: torch.device | None = None) -> dict[str, str]:
    """Versions and hardware that the notebooks' results depend on.

    Introduced in notebook 00.
    """
    device = device if device is not None else pick_device("auto")
    report = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "scikit-learn": sklearn.__version__,
        "device": str(device),
        "cpu threads": str(torch.get_num_threads()),
    }
    if device.type == "cuda":
        report["gpu"] = torch.cuda.get_device_name(device)
    report["executable"] = sys.executable
    return report
