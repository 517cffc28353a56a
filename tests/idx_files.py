"""Tiny MNIST-format files that the tests write themselves."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (independently of the package's parser)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def tiny_mnist(n_train: int = 30, n_test: int = 12, size: int = 28, seed: int = 0) -> dict:
    """Raw (decompressed) contents of the four files, with random pixels and labels 0-9."""
    rng = np.random.default_rng(seed)
    return {
        NAMES[0]: idx_bytes(rng.integers(0, 256, (n_train, size, size), dtype=np.uint8)),
        NAMES[1]: idx_bytes(np.arange(n_train, dtype=np.uint8) % 10),
        NAMES[2]: idx_bytes(rng.integers(0, 256, (n_test, size, size), dtype=np.uint8)),
        NAMES[3]: idx_bytes(np.arange(n_test, dtype=np.uint8) % 10),
    }


def checksums(contents: dict) -> dict:
    return {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}


def write_folder(folder: Path, contents: dict, gzipped: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        if gzipped:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder
