"""Build the series' website from the committed notebooks: `make site` (nothing is executed).

The pages are website/*.md and a prepared copy of every notebook in notebooks/, staged in
build/site/src/ and rendered by Sphinx with MyST-NB into build/site/html/ (website/conf.py).
The copies differ from the committed notebooks only in what a static page needs:

- under the title, the time the notebook took when `make outputs` made its outputs
  (`metadata.vae_tutorial.seconds`, recorded by tools/run_series.py);
- every figure gets its alt text from its cell's metadata, `vae_tutorial.alt`: a list with one
  text per figure, in order (a test checks that every figure has one); a cell with several figures
  is split after each, so that each figure has its own;
- the environment check's code is folded (a reader of the site runs nothing);
- the latent-space explorer, a widget that needs a running kernel, becomes a note that says so;
- "on your computer" points at the README in the repository rather than at ../README.md.

Usage: python tools/site.py [--out build/site]   (the site: build/site/html/index.html)
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `tools` is importable from the repository root
    sys.path.insert(0, str(ROOT))

from tools import launch  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = (
    "*Here JupyterLab shows the latent-space explorer: a slider for each latent unit and the "
    "image the decoder makes of that code. It needs a running Python, so it cannot work on this "
    "page: open the notebook with the Run it online links at the top, or on your computer.*"
)


def figure_count(cell: nbformat.NotebookNode) -> int:
    """How many figures (PNG outputs) a code cell shows."""
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


def alt_texts(cell: nbformat.NotebookNode) -> list[str]:
    """The alt text of each figure of ``cell``, from ``metadata.vae_tutorial.alt``."""
    return list(cell.get("metadata", {}).get("vae_tutorial", {}).get("alt", []))


def missing_alt_text(nb: nbformat.NotebookNode) -> list[str]:
    """The ids of figure cells whose alt texts are missing, empty or not one per figure."""
    return [
        cell.get("id", f"cell {index}")
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and figure_count(cell)
        and (
            len(alt_texts(cell)) != figure_count(cell)
            or not all(isinstance(t, str) and t.strip() for t in alt_texts(cell))
        )
    ]


def run_time(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min {seconds % 60:02d} s"


def _split_figures(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """``cell`` as one cell per figure, each with its alt text for MyST-NB (`mystnb.image.alt`).

    The first piece keeps the code; the others show only their outputs (tag ``remove-input``).
    """
    texts = alt_texts(cell)
    pieces, outputs, figure = [], [], 0
    for out in cell.outputs:
        outputs.append(out)
        if "image/png" in out.get("data", {}):
            piece = copy.deepcopy(cell)
            piece.outputs = outputs
            piece.metadata["mystnb"] = {"image": {"alt": texts[figure]}}
            if pieces:  # MyST-NB drops a cell whose source is empty: a comment, then hidden
                piece.source = "# the figures of the cell above, continued"
                piece.metadata["tags"] = [*piece.metadata.get("tags", []), "remove-input"]
                piece.id = f"{cell.id}-{figure}"
            pieces.append(piece)
            outputs, figure = [], figure + 1
    if outputs:  # text printed after the last figure
        pieces[-1].outputs.extend(outputs)
    return pieces


def prepare(nb: nbformat.NotebookNode, repository_url: str) -> nbformat.NotebookNode:
    """The website's copy of a committed notebook (see the module's docstring)."""
    missing = missing_alt_text(nb)
    if missing:
        raise ValueError(
            f"figures without alt text in cells {missing}: give each figure cell "
            "metadata.vae_tutorial.alt, a list with one text per figure"
        )
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    title = nb.cells[0]
    title.source = title.source.replace("](../README.md#", f"]({repository_url}#")
    seconds = nb.metadata.get("vae_tutorial", {}).get("seconds")
    if seconds is not None:
        threads = nb.metadata["vae_tutorial"].get("threads")
        on = f" on {threads} CPU threads" if threads else ""
        line = (
            f"*Run time: {run_time(seconds)}{on} with the default parameters, measured when "
            "these outputs were made.*"
        )
        head, sep, rest = title.source.partition("\n\n")
        title.source = f"{head}{sep}{line}\n\n{rest}" if sep else f"{head}\n\n{line}"
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            if launch.CHECK_TAG in cell.metadata.get("tags", []):
                cell.metadata["tags"] = [*cell.metadata["tags"], "hide-input"]
            for out in cell.get("outputs", []):
                if WIDGET_MIME in out.get("data", {}):
                    out.data = {"text/markdown": WIDGET_NOTE}
            if figure_count(cell):
                cells.extend(_split_figures(cell))
                continue
        cells.append(cell)
    nb.cells = cells
    return nb


def stage(src: Path) -> None:
    """Write the pages and the prepared notebooks into ``src`` (emptied first)."""
    repository_url = launch.repository_url()
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    for page in sorted((ROOT / "website").glob("*.md")):
        shutil.copy2(page, src / page.name)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = prepare(nbformat.read(path, as_version=4), repository_url)
        nbformat.write(nb, src / "notebooks" / path.name)


def build(out: Path) -> Path:
    """Stage and build the site; returns the folder of index.html."""
    src, html = out / "src", out / "html"
    stage(src)
    shutil.rmtree(html, ignore_errors=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going"]
    command += ["-c", str(ROOT / "website"), "-d", str(out / "doctrees"), str(src), str(html)]
    subprocess.run(command, check=True, cwd=ROOT)
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args(argv)
    html = build(args.out.resolve())
    print(f"The website: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
