"""Run `jupyter lab` from this Python's environment on 127.0.0.1 with a token, and stop it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
# Lab extensions that would only add pop-ups: the "receive Jupyter news?" toast.
DISABLED_EXTENSIONS = {"@jupyterlab/apputils-extension:announcements": True}
# Lab settings: every cell attached to the page (no virtual scrolling), so that the DOM holds
# all outputs; no autosave racing the test.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


@dataclass
class Lab:
    url: str  # http://127.0.0.1:<port>
    port: int
    token: str
    root: Path
    process: subprocess.Popen
    log: Path
    children: list = field(default_factory=list)  # its processes (kernels), found by stop()

    def page(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5) -> object:
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method == "POST" else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (connections of a stopped server in TIME_WAIT don't count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _isolated_env(home: Path) -> dict[str, str]:
    """Jupyter's config, data, runtime and settings in `home`: no user settings interfere."""
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "config" / "lab" / "user-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    labconfig = dirs["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": DISABLED_EXTENSIONS})
    )
    for name, values in SETTINGS.items():
        path = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, **{name: str(path) for name, path in dirs.items()})
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_TOKEN", None)
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _descendants(pid: int) -> list:
    try:
        import psutil
    except ImportError:  # pragma: no cover - ipykernel depends on psutil
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def stop(lab: Lab) -> None:
    """Stop the server and everything it started (kernels included), whatever state it is in."""
    children = _descendants(lab.process.pid)
    lab.children = children
    if lab.process.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
            lab.api("shutdown", method="POST")  # shuts down the kernels, then the server
        try:
            lab.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if lab.process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(lab.process.pid, sig)
        try:
            lab.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    # Kernels run in sessions of their own: end any that outlived the server.
    for child in children:
        with contextlib.suppress(Exception):
            child.kill()
            child.wait(STOP_TIMEOUT_S)


def leftovers(lab: Lab) -> list[str]:
    """What is still running or listening after stop(): empty when all is gone."""
    found = []
    if lab.process.poll() is None:
        found.append(f"jupyter lab (pid {lab.process.pid}) is still running")
    if not port_is_free(lab.port):
        found.append(f"port {lab.port} is still taken")
    for child in lab.children:
        with contextlib.suppress(Exception):
            if child.is_running() and child.status() != "zombie":
                found.append(f"{child.name()} (pid {child.pid}), started by the server, is running")
    return found


@contextlib.contextmanager
def running_lab(root: Path, home: Path) -> Iterator[Lab]:
    """`jupyter lab` serving `root`, stopped on exit whatever happened."""
    jupyter = Path(sys.executable).parent / "jupyter"
    port = free_port()
    token = secrets.token_hex(24)
    log = home / "jupyter-lab.log"
    root.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    command = [
        str(jupyter),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=_isolated_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, for killpg
        )
    lab = Lab(f"http://127.0.0.1:{port}", port, token, root, process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                lab.api("status", timeout=2)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not answer /api/status in {START_TIMEOUT_S} s:\n{_tail(log)}"
                )
            time.sleep(0.2)
        yield lab
    finally:
        stop(lab)
