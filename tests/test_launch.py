"""tools/launch.py: every launch link agrees with pyproject.toml and opens a file that exists, and
every notebook starts with the same environment check, which explains what is missing."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import nbformat
import pytest

from tools import launch

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\((https://(?:mybinder\.org|colab\.research\.google\.com)/[^)]+)\)")


def _links(text: str) -> list[str]:
    return LINK.findall(text)


def _repo_path(url: str) -> str:
    """The file in this repository that a Binder or Colab link opens."""
    owner, name = launch.repository()
    ref = launch.launch_ref()
    binder = f"https://mybinder.org/v2/gh/{owner}/{name}/{ref}?urlpath=lab/tree/"
    colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/{ref}/"
    for prefix in (binder, colab):
        if url.startswith(prefix):
            return url.removeprefix(prefix)
    raise AssertionError(f"{url} does not open {owner}/{name} at {ref}")


def test_every_notebook_and_the_readme_are_stamped_from_pyproject():
    assert launch.main(["--check"]) == 0, "run: python tools/launch.py"


@pytest.mark.parametrize("path", [p for p, _ in launch.targets()], ids=lambda p: p.name)
def test_each_notebook_launches_itself_on_binder_and_colab(path):
    title = nbformat.read(path, as_version=4).cells[0].source
    links = _links(title)
    assert len(links) == 2, f"{path.name}: expected a Binder and a Colab link, found {links}"
    expected = f"{path.parent.name}/{path.name}"
    assert [_repo_path(url) for url in links] == [expected, expected]


def test_the_readme_links_open_files_that_exist():
    # two ways in: the student edition and the worked series, each on Binder and on Colab
    links = _links((ROOT / "README.md").read_text())
    assert len(links) == 4
    assert {_repo_path(url).split("/")[0] for url in links} == {"student", "notebooks"}
    for url in links:
        assert (ROOT / _repo_path(url)).is_file(), url


def test_a_moved_repository_url_is_a_drift_the_check_reports(tmp_path, monkeypatch):
    moved = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text()
    moved.write_text(text.replace("https://github.com/", "https://github.com/someone-else-"))
    monkeypatch.setattr(launch, "project", lambda: launch.tomllib.loads(moved.read_text()))
    notebook = launch.targets()[0][0]
    copy = tmp_path / notebook.name
    copy.write_bytes(notebook.read_bytes())
    assert launch.stamp_notebook(copy, f"notebooks/{notebook.name}")  # changed: it had drifted
    assert "someone-else-" in nbformat.read(copy, as_version=4).cells[0].source
    assert not launch.stamp_notebook(copy, f"notebooks/{notebook.name}")  # and now it agrees


def test_the_first_code_cell_is_the_same_check_everywhere_with_pyprojects_floors():
    expected = launch.check_cell_source()
    for path, _ in launch.targets():
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert first.source == expected, path
    needed = {}
    exec(expected.split("if ", 1)[0], needed)  # up to the first statement that acts
    assert needed["NEEDED"] == launch.floors()
    assert needed["NEEDED"]["torch"] == "2.6"  # torch.nn.utils.get_total_norm


def _run_check(monkeypatch, versions: dict[str, str | None]) -> None:
    real = importlib.metadata.version

    def version(package):
        if package in versions:
            if versions[package] is None:
                raise importlib.metadata.PackageNotFoundError(package)
            return versions[package]
        return real(package)

    monkeypatch.setattr(importlib.metadata, "version", version)
    exec(launch.check_cell_source(), {})


def test_the_check_passes_in_this_environment(monkeypatch, capsys):
    _run_check(monkeypatch, {})
    assert "Environment checked: torch" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({"scipy": None}, "scipy is not installed"),
        ({"torch": "2.5.1+cu121"}, "torch is 2.5.1+cu121, older than 2.6"),
        ({"numpy": "1.23.5"}, "numpy is 1.23.5, older than 1.24"),
    ],
)
def test_the_check_names_what_is_missing_and_what_to_do(monkeypatch, versions, message):
    with pytest.raises(RuntimeError, match=re.escape(message)) as error:
        _run_check(monkeypatch, versions)
    assert "make env" in str(error.value) and "pip install -e ." in str(error.value)
