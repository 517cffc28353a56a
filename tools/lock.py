"""binder/requirements.txt: every package of the Binder environment pinned, from the project's lock.

Binder installs binder/requirements.txt and then the project with `--no-deps` (binder/postBuild).
That file lists the whole environment a learner needs, not only its top level: the package's
requirements, the `notebooks` extra, and everything those require in turn, each at the version
requirements/constraints.txt pins (the environment `make dev-env` installed from it is where the
dependency tree is read, for Binder's platform: Linux, the Python of binder/runtime.txt). torch is
the CPU build, from PyTorch's CPU index.

`make lock` runs it after refreshing the constraints; tests/test_environment_files.py checks that
the file is what it would write.

Usage: python tools/lock.py [--check]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `tools` is importable from the repository root
    sys.path.insert(0, str(ROOT))

from tools.launch import project  # noqa: E402

BINDER = ROOT / "binder" / "requirements.txt"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
HEADER = f"""\
# Binder (repo2docker) reads only this folder, not the files at the project's root.
# The whole environment, pinned: written by `make lock` (tools/lock.py) from
# requirements/constraints.txt; do not edit by hand. A CPU-only PyTorch: Binder has no GPU, and
# the CPU build is a fraction of the size.
--extra-index-url {TORCH_INDEX}
"""


def constraints() -> dict[str, tuple[str, str]]:
    """canonical name -> (name as spelled, version), from requirements/constraints.txt."""
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = (name, version)
    return pins


def top_level() -> list[Requirement]:
    """The package's runtime requirements and its notebooks extra, from pyproject.toml."""
    spec = project()["project"]
    return [
        Requirement(r) for r in spec["dependencies"] + spec["optional-dependencies"]["notebooks"]
    ]


def closure(requirements: list[Requirement]) -> set[str]:
    """The canonical names of ``requirements`` and of all they require, read from the metadata of
    the installed packages (extras followed, environment markers evaluated here)."""
    found: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in found and not extras:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.requires(requirement.name) or []
        except importlib.metadata.PackageNotFoundError as error:
            raise SystemExit(
                f"{requirement.name} is not installed here: run `make dev-env` first"
            ) from error
        for line in requires:
            child = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                todo.append((child, frozenset(child.extras)))
    return found


def binder_requirements() -> str:
    pins = constraints()
    names = sorted(closure(top_level()), key=lambda n: pins[n][0].lower() if n in pins else n)
    missing = [n for n in names if n not in pins]
    if missing:
        raise SystemExit(f"not pinned in {CONSTRAINTS.name}: {missing}; run `make lock`")
    lines = []
    for name in names:
        spelled, version = pins[name]
        lines.append(f"{spelled}=={version}+cpu" if name == "torch" else f"{spelled}=={version}")
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the file is current")
    args = parser.parse_args(argv)
    text = binder_requirements()
    if args.check:
        current = BINDER.read_text() == text
        print(f"{BINDER.relative_to(ROOT)} is {'current' if current else 'out of date: make lock'}")
        return 0 if current else 1
    BINDER.write_text(text)
    print(f"wrote {BINDER.relative_to(ROOT)}: {text.count(chr(10)) - HEADER.count(chr(10))} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
