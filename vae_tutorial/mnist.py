"""MNIST's IDX files: find them, download them safely, read them. Introduced in notebook 00.

MNIST (LeCun, Cortes & Burges) ships as four gzipped IDX files. The gzip wrappers differ between
mirrors, so files are verified by the SHA-256 of their *decompressed* bytes. A download goes to a
temporary file beside its destination and is renamed into place only after it has been verified,
so an interrupted or corrupted transfer never leaves a file that is later trusted.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

# SHA-256 of the decompressed bytes of each file.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Public mirrors of the gzipped files, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_IDX_DTYPE_CODES = {0x08: np.uint8}
_CHUNK_BYTES = 1 << 16


class MnistUnavailableError(RuntimeError):
    """MNIST could not be found locally nor downloaded; the message says what to do."""


class ChecksumError(ValueError):
    """A file's decompressed bytes do not match the expected SHA-256."""


def default_cache_dir() -> Path:
    """Where downloads go: ``$VAE_TUTORIAL_CACHE`` or ``~/.cache/vae_tutorial``."""
    env = os.environ.get("VAE_TUTORIAL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "vae_tutorial"


def _read_maybe_gzipped(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        with gzip.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_file(folder: Path, name: str) -> Path | None:
    """The file ``name`` or ``name.gz`` in ``folder``, whichever exists (gzipped first)."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def read_verified(folder: Path, checksums: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Read every file named in ``checksums`` from ``folder`` and verify its decompressed bytes.

    :param checksums: file name -> SHA-256 of its decompressed bytes; default ``MNIST_SHA256``.

    :raises FileNotFoundError: when a file is missing, naming it.
    :raises ChecksumError: when a file's contents are not the expected ones.
    """
    folder = Path(folder).expanduser()
    checksums = MNIST_SHA256 if checksums is None else checksums
    missing = [name for name in checksums if find_file(folder, name) is None]
    if missing:
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)} (as .gz or decompressed). "
            "It must hold the four MNIST IDX files."
        )
    contents = {}
    for name, expected in checksums.items():
        path = find_file(folder, name)
        try:
            data = _read_maybe_gzipped(path)
        except (OSError, EOFError) as err:
            raise ChecksumError(f"{path} is not a readable gzip file ({err}).") from err
        if _sha256(data) != expected:
            raise ChecksumError(
                f"{path} does not match its SHA-256 checksum; the file is corrupt or not MNIST. "
                "Delete it and download again."
            )
        contents[name] = data
    return contents


def parse_idx(data: bytes) -> np.ndarray:
    """Decode the IDX format: a 4-byte magic (0, 0, dtype code, ndim), ndim big-endian sizes, data.

    :return: an array of shape given by the header, e.g. (n, 28, 28) uint8 images or (n,) labels.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: bad magic number")
    dtype_code, ndim = data[2], data[3]
    if dtype_code not in _IDX_DTYPE_CODES:
        raise ValueError(f"unsupported IDX element type 0x{dtype_code:02x} (only unsigned bytes)")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise ValueError("IDX header is truncated")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header_bytes != expected:
        raise ValueError(
            f"IDX body holds {len(data) - header_bytes} bytes "
            f"but its header {shape} needs {expected}"
        )
    array = np.frombuffer(data, dtype=_IDX_DTYPE_CODES[dtype_code], offset=header_bytes)
    return array.reshape(shape)


def _is_verified(folder: Path, name: str, expected_sha256: str) -> bool:
    path = find_file(folder, name)
    if path is None:
        return False
    try:
        return _sha256(_read_maybe_gzipped(path)) == expected_sha256
    except (OSError, EOFError):
        return False


def _fetch_verified(url: str, dest: Path, expected_sha256: str, timeout: float) -> None:
    """Download ``url`` and move it to ``dest`` only if complete and correct."""
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total = int(total) if total is not None else None
            received = 0
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=dest.name, leave=False, delay=1.0
            ) as bar:
                while chunk := response.read(_CHUNK_BYTES):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total is not None and received != total:
                raise OSError(f"transfer truncated: {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        try:
            data = _read_maybe_gzipped(tmp)
        except (OSError, EOFError) as err:
            raise ChecksumError(f"not a complete gzip file ({err})") from err
        if _sha256(data) != expected_sha256:
            raise ChecksumError("checksum mismatch")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def download(
    dest: Path | str | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download the MNIST files into ``dest`` (default: the cache), trying each mirror in order.

    Files already present and correct are kept. Introduced in notebook 00.

    :return: the folder holding the verified files.
    :raises MnistUnavailableError: when some file could not be had from any mirror.
    """
    dest = Path(dest).expanduser() if dest is not None else default_cache_dir() / "mnist"
    dest.mkdir(parents=True, exist_ok=True)
    mirrors = MNIST_MIRRORS if mirrors is None else mirrors
    checksums = MNIST_SHA256 if checksums is None else checksums
    for name, expected in checksums.items():
        if _is_verified(dest, name, expected):
            continue
        reasons = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            try:
                _fetch_verified(url, dest / f"{name}.gz", expected, timeout)
                break
            # URLError and timeouts are OSErrors; a cut connection is an HTTPException;
            # ChecksumError and a malformed URL are ValueErrors.
            except (OSError, ValueError, http.client.HTTPException) as err:
                reasons.append(f"{url}: {err}")
        else:
            details = "\n".join(f"  {r}" for r in reasons)
            raise MnistUnavailableError(
                f"Could not download {name} from any mirror:\n{details}\n"
                "To use MNIST offline, put the four MNIST IDX files (.gz or decompressed) in a "
                "folder and set VAE_TUTORIAL_DATA to it (or pass root=...). "
                "To go on without MNIST, use dataset='digits' (scikit-learn's 8x8 digits)."
            )
    return dest


def parse_arrays(raw: Mapping[str, bytes]) -> dict[str, np.ndarray]:
    """Decode the four verified files (name -> decompressed bytes, as from :func:`read_verified`).

    :return: ``train_images`` (60000, 28, 28), ``train_labels`` (60000,), ``test_images``
        (10000, 28, 28), ``test_labels`` (10000,), all uint8.
    """
    return {
        "train_images": parse_idx(raw["train-images-idx3-ubyte"]),
        "train_labels": parse_idx(raw["train-labels-idx1-ubyte"]),
        "test_images": parse_idx(raw["t10k-images-idx3-ubyte"]),
        "test_labels": parse_idx(raw["t10k-labels-idx1-ubyte"]),
    }


def load_arrays(
    folder: Path | str, checksums: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Read, verify and decode the four files in ``folder`` (see :func:`parse_arrays`)."""
    return parse_arrays(read_verified(Path(folder), checksums))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vae_tutorial.mnist [DEST]``: download and verify MNIST (used by binder/)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dest", nargs="?", default=None, help="folder (default: the cache)")
    args = parser.parse_args(argv)
    folder = download(args.dest)
    print(f"MNIST verified in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
