"""vae_tutorial.mnist: the IDX format and safe downloads, against a local HTTP server."""

from __future__ import annotations

import gzip
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vae_tutorial import mnist

from . import idx_files

# --- the IDX format ---------------------------------------------------------------------------


@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4), seed=st.integers(0, 100))
def test_parse_idx_round_trips(shape, seed):
    array = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    parsed = mnist.parse_idx(idx_files.idx_bytes(array))
    assert parsed.shape == tuple(shape) and parsed.dtype == np.uint8
    np.testing.assert_array_equal(parsed, array)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "magic"),
        (b"\x00\x00\x0d\x01" + (1).to_bytes(4, "big") + b"abcd", "element type"),
        (b"\x00\x00\x08\x02" + (3).to_bytes(4, "big"), "header is truncated"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "needs 5"),
    ],
)
def test_parse_idx_rejects_malformed_files(data, message):
    with pytest.raises(ValueError, match=message):
        mnist.parse_idx(data)


def test_load_arrays_gives_the_four_arrays(tiny_mnist):
    folder, _ = tiny_mnist
    arrays = mnist.load_arrays(folder)
    assert arrays["train_images"].shape == (30, 28, 28)
    assert arrays["test_labels"].tolist() == [i % 10 for i in range(12)]


# --- a local server standing in for the mirrors -----------------------------------------------


class Mirror:
    """Serves files from memory; `mode` per file: ok, truncate, corrupt or missing."""

    def __init__(self, contents: dict[str, bytes]):
        self.files = {f"/{name}.gz": gzip.compress(data) for name, data in contents.items()}
        self.mode = dict.fromkeys(self.files, "ok")
        self.requests: list[str] = []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 -- the name http.server calls
                mirror.requests.append(self.path)
                mode = mirror.mode.get(self.path, "missing")
                if mode == "missing":
                    self.send_error(404)
                    return
                body = mirror.files[self.path]
                if mode == "corrupt":
                    body = gzip.compress(b"not the file you are looking for")
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # A truncated transfer: the connection closes after half the promised bytes.
                self.wfile.write(body[: len(body) // 2] if mode == "truncate" else body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def contents():
    return idx_files.tiny_mnist()


@pytest.fixture
def mirrors(contents):
    started = [Mirror(contents), Mirror(contents)]
    yield started
    for mirror in started:
        mirror.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_and_keeps_files(tmp_path, contents, mirrors):
    dest = mnist.download(
        tmp_path / "mnist", mirrors=[mirrors[0].url], checksums=idx_files.checksums(contents)
    )
    assert _leftovers(dest) == sorted(f"{name}.gz" for name in contents)
    assert mnist.read_verified(dest, idx_files.checksums(contents)).keys() == contents.keys()
    # Already there and correct: a second call downloads nothing.
    before = len(mirrors[0].requests)
    mnist.download(dest, mirrors=[mirrors[0].url], checksums=idx_files.checksums(contents))
    assert len(mirrors[0].requests) == before


@pytest.mark.parametrize("fault", ["corrupt", "truncate", "missing"])
def test_a_faulty_mirror_is_skipped_for_the_next(tmp_path, contents, mirrors, fault):
    bad, good = mirrors
    bad.mode = dict.fromkeys(bad.mode, fault)
    dest = mnist.download(
        tmp_path / "mnist", mirrors=[bad.url, good.url], checksums=idx_files.checksums(contents)
    )
    assert len(bad.requests) == len(good.requests) == 4
    assert _leftovers(dest) == sorted(f"{name}.gz" for name in contents)
    mnist.read_verified(dest, idx_files.checksums(contents))


@pytest.mark.parametrize("fault", ["corrupt", "truncate"])
def test_a_bad_transfer_never_leaves_a_file(tmp_path, contents, mirrors, fault):
    for mirror in mirrors:
        mirror.mode["/t10k-images-idx3-ubyte.gz"] = fault
    with pytest.raises(mnist.MnistUnavailableError, match="t10k-images-idx3-ubyte") as err:
        mnist.download(
            tmp_path / "mnist",
            mirrors=[m.url for m in mirrors],
            checksums=idx_files.checksums(contents),
        )
    reason = "checksum mismatch" if fault == "corrupt" else "truncated|IncompleteRead|gzip"
    assert err.match(reason)
    # The files before it were verified and kept; nothing of the failed one, not even a .part.
    assert _leftovers(tmp_path / "mnist") == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]


def test_a_corrupt_file_in_place_is_replaced(tmp_path, contents, mirrors):
    dest = idx_files.write_folder(tmp_path / "mnist", contents)
    (dest / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    mnist.download(dest, mirrors=[mirrors[0].url], checksums=idx_files.checksums(contents))
    assert mirrors[0].requests == ["/train-labels-idx1-ubyte.gz"]
    mnist.read_verified(dest, idx_files.checksums(contents))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_gives_an_error_that_says_what_to_do(tmp_path, contents):
    with pytest.raises(mnist.MnistUnavailableError) as err:
        mnist.download(
            tmp_path / "mnist",
            mirrors=[f"http://127.0.0.1:{_closed_port()}/"],
            checksums=idx_files.checksums(contents),
            timeout=5,
        )
    message = str(err.value)
    assert "Connection refused" in message or "refused" in message.lower()
    assert "VAE_TUTORIAL_DATA" in message and "dataset='digits'" in message
    assert _leftovers(tmp_path / "mnist") == []


def test_the_command_line_downloads_into_a_folder(tmp_path, contents, mirrors, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", (mirrors[0].url,))
    monkeypatch.setattr(mnist, "MNIST_SHA256", idx_files.checksums(contents))
    assert mnist.main([str(tmp_path / "cli")]) == 0
    assert len(_leftovers(tmp_path / "cli")) == 4


def test_the_cache_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_TUTORIAL_CACHE", str(tmp_path / "c"))
    assert mnist.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("VAE_TUTORIAL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_cache_dir() == tmp_path / "xdg" / "vae_tutorial"
