"""Find Debian's Chromium, installing it with apt-get when it is missing and we may."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
APT_TIMEOUT_S = 600


def find() -> Path | None:
    for candidate in CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _apt(*args: str, timeout: float) -> tuple[bool, str]:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        done = subprocess.run(
            ["apt-get", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        return False, f"apt-get {' '.join(args)} timed out after {error.timeout:.0f} s"
    return done.returncode == 0, _tail(done.stdout + done.stderr)


def find_or_install() -> tuple[Path | None, str]:
    """Chromium's path and '', or None and why it could not be had."""
    found = find()
    if found:
        return found, ""
    if shutil.which("apt-get") is None:
        return None, "Chromium is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return None, "Chromium is not installed; installing it with apt-get needs root"
    install = ("install", "-y", "--no-install-recommends", "chromium")
    ok, output = _apt(*install, timeout=APT_TIMEOUT_S)
    if not ok:  # most often: no package lists yet (fresh container)
        updated, update_output = _apt("update", timeout=APT_TIMEOUT_S)
        if not updated:
            return None, (
                f"apt-get install chromium failed:\n{output}\n"
                f"and so did apt-get update:\n{update_output}"
            )
        ok, output = _apt(*install, timeout=APT_TIMEOUT_S)
    found = find()
    if not ok or found is None:
        return None, f"apt-get install chromium failed:\n{output}"
    return found, ""
