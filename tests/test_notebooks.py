"""The notebooks: their shape, their committed outputs, and a quick headless run of each.

nbval (run by `make test` on notebooks/) separately re-executes each notebook with its committed
parameters and compares the outputs of cells tagged `nbval-check-output`.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools.run_series import series

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "tools" / "run_series.py"
NOTEBOOKS = series()
MAX_BYTES = 1_500_000  # committed notebooks stay small, with figures readable at 100% zoom
PARAMETERS = {"quick", "seed", "device", "dataset"}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_series_is_numbered_from_00_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))) and numbers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_house_skeleton(path):
    nb = _read(path)
    nbformat.validate(nb)
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {path.name[:2]} ·")
    assert "Learning objectives" in title.source and "**Run it online:**" in title.source
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for section in ("## Summary", "## Exercises", "## References"):
        assert any(section in h for h in headings), f"{path.name} lacks {section}"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_with_the_common_parameters(path):
    cells = [c for c in _read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "papermill needs exactly one cell tagged 'parameters'"
    assigned = {
        target.id
        for node in ast.parse(cells[0].source).body
        if isinstance(node, ast.Assign)
        for target in node.targets
    }
    assert PARAMETERS <= assigned


GRADED_HEADING = re.compile(r"### Graded exercise (\d+) \((\d+) points?\): \S.*")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_graded_exercises_share_one_heading_shape_that_states_their_points(path):
    # `### Graded exercise N (P points): title`, numbered from 1, P the sum of the points of the
    # graded test cells between this heading and the next
    exercises = []  # [number, stated points, points of its graded cells]
    for cell in _read(path).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#") and "exercise" in line.lower() and line != "## Exercises":
                    match = GRADED_HEADING.fullmatch(line)
                    assert match, f"{path.name}: exercise heading of another shape: {line!r}"
                    exercises.append([int(match[1]), int(match[2]), 0])
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade"):
            assert exercises, f"{path.name}: graded cell {grading['grade_id']} before any heading"
            exercises[-1][2] += grading["points"]
    assert [number for number, _, _ in exercises] == list(range(1, len(exercises) + 1))
    for number, stated, graded in exercises:
        assert stated == graded, f"{path.name}: exercise {number} states {stated}, has {graded}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_come_from_one_clean_run(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size:,} bytes"
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Executed top to bottom in one kernel: counts 1, 2, 3, ...
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        assert not any(o.output_type == "error" for o in cell.outputs)
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
    assert "papermill" not in nb.metadata
    assert any("nbval-check-output" in c.metadata.get("tags", []) for c in code)
    assert nb.metadata.vae_tutorial.seconds > 0  # make outputs records the run's time


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_carry_no_path_of_the_machine_that_made_them(path):
    folders = {str(ROOT), str(Path.home()), str(Path(sys.executable).parent), "/tmp/", "/work/"}
    for cell in _read(path).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            found = [folder for folder in folders if folder in text]
            assert not found, f"{path.name}: an output shows {found}: make outputs replaces them"


def test_make_outputs_replaces_this_machines_folders_and_records_the_time(tmp_path, monkeypatch):
    from tools import run_series

    monkeypatch.setenv("VAE_TUTORIAL_DATA", str(tmp_path / "mnist"))
    nb = nbformat.v4.new_notebook()
    nb.metadata.papermill = {"duration": 1.0}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [
        nbformat.v4.new_output("stream", text=f"from {tmp_path / 'mnist'}\nin {ROOT}/notebooks\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": f"'{Path.home()}/x'"}),
    ]
    nb.cells = [cell]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    run_series.strip_run_metadata(path, 12.3)
    done = _read(path)
    assert done.cells[0].outputs[0].text == "from $VAE_TUTORIAL_DATA\nin <project>/notebooks\n"
    assert done.cells[0].outputs[1].data["text/plain"] == "'~/x'"
    assert "papermill" not in done.metadata and done.metadata.vae_tutorial.seconds == 12


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """The whole series executed once with its quick parameters, two notebooks at a time (one
    CPU thread each: quick outputs are not compared with committed ones, so the thread count,
    which can change their last digits, does not matter here)."""
    folder = tmp_path_factory.mktemp("quick")
    run = subprocess.run(
        [sys.executable, RUNNER, "--quick", "--jobs", "2", "--output-dir", folder, *NOTEBOOKS],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    summary = {r["notebook"]: r for r in json.loads((folder / "summary.json").read_text())}
    return folder, summary, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_in_quick_mode(path, quick_runs):
    folder, summary, output = quick_runs
    result = summary[path.name]
    assert result["ok"] and (folder / path.name).is_file(), output
    print(f"{path.name}: {result['seconds']} s, peak {result['peak_rss_mib']} MiB")


def _broken_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell("quick = False")
    parameters.metadata.tags = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('broken on purpose')"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
@pytest.mark.notebook
def test_a_failing_notebook_is_reported_and_never_overwritten(tmp_path):
    path = _broken_notebook(tmp_path / "99_broken.ipynb")
    original = path.read_bytes()
    run = subprocess.run(
        [sys.executable, RUNNER, "--in-place", path], capture_output=True, text=True, cwd=ROOT
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1
    assert "FAILED" in output and "broken on purpose" in output
    assert "In [3]" in output, "the failing cell is named"
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["99_broken.ipynb"]
