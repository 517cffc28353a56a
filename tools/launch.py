"""Stamp the launch links and the environment check into every notebook and the README.

    python tools/launch.py           # rewrite them from pyproject.toml
    python tools/launch.py --check   # exit 1, naming each file that disagrees (the tests run it)

The repository's public URL is set in one place, ``[project.urls] Repository`` in pyproject.toml,
and the branch or tag that the links open in ``[tool.vae_tutorial] launch-ref`` (a semester pins
a tag). From them this tool writes, in every notebook of notebooks/ and student/:

- the title cell's "Run it online" line: Binder (opening that very notebook in JupyterLab) and
  Colab links; and
- the first code cell, the same in every notebook: it checks that this Python has every package
  the series needs at the versions pyproject.toml declares, and on Colab first installs the
  companion package (and downloads MNIST) when it is missing, so that a missing package is
  explained instead of crashing the imports;

and the two launch links of the README's "Run it online" section.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "student")
LAUNCH_PREFIX = "**Run it online:**"
CHECK_TAG = "environment-check"
README_LINKS = {  # README line prefix: the notebook it opens
    "- **to work the exercises**": "student/01_encoder.ipynb",
    "- **to read the worked series**": "notebooks/00_setup_and_data.ipynb",
}
LINKS = re.compile(r"\[Binder\]\([^)]*\) · \[Colab\]\([^)]*\)")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def repository() -> tuple[str, str]:
    """(owner, name) of the GitHub repository that pyproject.toml names."""
    url = project()["project"]["urls"]["Repository"]
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)/?", url)
    if not match:
        raise ValueError(f"[project.urls] Repository must be https://github.com/OWNER/NAME: {url}")
    return match[1], match[2]


def repository_url() -> str:
    """https://github.com/OWNER/NAME, as pyproject.toml names it (without a trailing slash)."""
    owner, name = repository()
    return f"https://github.com/{owner}/{name}"


def package_source() -> str:
    """What the check cell pip-installs on Colab: the repository at the launch ref."""
    return f"git+{repository_url()}@{launch_ref()}"


def launch_ref() -> str:
    return project()["tool"]["vae_tutorial"]["launch-ref"]


def binder_url(path: str) -> str:
    owner, name = repository()
    return f"https://mybinder.org/v2/gh/{owner}/{name}/{launch_ref()}?urlpath=lab/tree/{path}"


def colab_url(path: str) -> str:
    owner, name = repository()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{launch_ref()}/{path}"


def launch_line(path: str) -> str:
    """The title cell's line of links for the notebook at ``path`` (from the repository root)."""
    return (
        f"{LAUNCH_PREFIX} [Binder]({binder_url(path)}) (JupyterLab, MNIST ready) · "
        f"[Colab]({colab_url(path)}) (run the first cell first) · "
        "[on your computer](../README.md#start-here)"
    )


def floors() -> dict[str, str]:
    """Each runtime requirement's lowest version, from pyproject.toml's dependencies."""
    result = {}
    for requirement in project()["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)(,<[0-9.]+)?", requirement)
        if not match:
            raise ValueError(f"expected NAME>=FLOOR in pyproject's dependencies: {requirement}")
        result[match[1]] = match[2]
    return result


CHECK_CELL = r"""
# Run this cell first. It checks that this Python has what the series needs, at the versions
# it was tested with, and on Colab it first installs the companion package and downloads MNIST.
import importlib.metadata
import importlib.util
import re
import subprocess
import sys

NEEDED = {
__NEEDED__}
SOURCE = "__SOURCE__"

if "google.colab" in sys.modules and importlib.util.find_spec("vae_tutorial") is None:
    print("Colab: installing vae_tutorial from", SOURCE, "and downloading MNIST (a minute) ...")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", f"vae_tutorial @ {SOURCE}"], check=True
    )
    subprocess.run([sys.executable, "-m", "vae_tutorial.mnist"])  # without it: the 8x8 digits
problems = []
for package, floor in NEEDED.items():
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        problems.append(f"{package} is not installed")
        continue
    if [int(n) for n in re.findall(r"\d+", version)[:2]] < [int(n) for n in floor.split(".")]:
        problems.append(f"{package} is {version}, older than {floor}")
if importlib.util.find_spec("vae_tutorial") is None:
    problems.append("the companion package vae_tutorial is not installed")
if problems:
    raise RuntimeError(
        "This Python is not set up for the series: " + "; ".join(problems) + ". In the "
        "project's folder run `make env` (or `pip install -e .`), then choose the kernel "
        "'Python 3 (vae_tutorial)'."
    )
print("Environment checked:", ", ".join(f"{p} {importlib.metadata.version(p)}" for p in NEEDED))
""".strip("\n")


def check_cell_source() -> str:
    """The first code cell of every notebook: CHECK_CELL with the floors and the source filled."""
    needed = "".join(f'    "{package}": "{floor}",\n' for package, floor in floors().items())
    return CHECK_CELL.replace("__NEEDED__", needed).replace("__SOURCE__", package_source())


def stamp(nb: nbformat.NotebookNode, repo_path: str) -> None:
    """Write the launch line and the check cell into a notebook read from ``repo_path``."""
    title = nb.cells[0]
    lines = [
        launch_line(repo_path) if line.startswith(LAUNCH_PREFIX) else line
        for line in title.source.splitlines()
    ]
    if not any(line.startswith(LAUNCH_PREFIX) for line in lines):
        lines.insert(2, launch_line(repo_path))  # after the title and its blank line
    at = next(i for i, line in enumerate(lines) if line.startswith(LAUNCH_PREFIX))
    if at + 1 < len(lines) and lines[at + 1].strip():
        lines.insert(at + 1, "")  # a paragraph of its own
    title.source = "\n".join(lines)
    second = nb.cells[1] if len(nb.cells) > 1 else None
    if second is None or CHECK_TAG not in second.metadata.get("tags", []):
        second = nbformat.v4.new_code_cell(metadata={"tags": [CHECK_TAG]})
        second.pop("id", None)  # nbformat 4.5 ids: given only when the notebook uses them
        if "id" in title:
            second.id = CHECK_TAG
        nb.cells.insert(1, second)
    second.source = check_cell_source()


def stamp_notebook(path: Path, repo_path: str, write: bool = True) -> bool:
    """Stamp one notebook file (or, with ``write=False``, only find out); return whether the
    stamp changes it."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    stamp(nb, repo_path)
    changed = nbformat.writes(nb) != before
    if changed and write:
        nbformat.write(nb, path)
    return changed


def readme_lines(text: str) -> str:
    lines = []
    for line in text.splitlines():
        for prefix, notebook in README_LINKS.items():
            if line.startswith(prefix):
                links = f"[Binder]({binder_url(notebook)}) · [Colab]({colab_url(notebook)})"
                line = LINKS.sub(links.replace("\\", "\\\\"), line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def targets() -> list[tuple[Path, str]]:
    """(notebook, its path from the repository root) for notebooks/ and student/."""
    return [
        (path, f"{folder}/{path.name}")
        for folder in FOLDERS
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    args = parser.parse_args(argv)
    drift = [
        repo_path
        for path, repo_path in targets()
        if stamp_notebook(path, repo_path, write=not args.check)
    ]
    readme = ROOT / "README.md"
    current = readme.read_text()
    text = readme_lines(current)
    if text != current:
        drift.append("README.md")
        if not args.check:
            readme.write_text(text)
    if drift and args.check:
        print("Launch links or the environment check out of date in: " + ", ".join(drift))
        print("Run: python tools/launch.py", file=sys.stderr)
        return 1
    for name in drift:
        print(f"stamped {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
