"""pyproject.toml, requirements/constraints.txt, environment.yml and binder/ must agree."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tools import lock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lines) -> dict[str, Version]:
    """name -> exact version, from `name==version` lines; options, comments and paths ignored."""
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{line!r} should pin an exact version"
        pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def _public(version: Version) -> Version:
    return Version(version.public)  # 2.13.0+cpu -> 2.13.0


CONSTRAINTS = _pins((ROOT / "requirements" / "constraints.txt").read_text().splitlines())
# What a learner's environment needs: the runtime requirements and the notebook extra.
NEEDED = {canonicalize_name(r.name): r for r in lock.top_level()}


# conda-forge's names for the packages whose PyPI names differ: the CPU build of PyTorch, and
# matplotlib without its Qt GUI.
CONDA_NAMES = {"torch": "pytorch-cpu", "matplotlib": "matplotlib-base"}


def _environment_yml() -> tuple[str, dict[str, Version], list[str]]:
    """environment.yml's Python version, its conda packages (name -> version), its pip list."""
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert spec["channels"][0] == "conda-forge"
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    python = next(d for d in conda if d.startswith("python="))
    packages = {
        name: Version(version)
        for name, _, version in (d.partition("=") for d in conda)
        if name not in ("python", "pip")
    }
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    return python.split("=", 1)[1], packages, pip


def test_constraints_pin_a_public_torch_version_that_the_readme_states():
    # `make lock` drops the local "+cpu" label, so one pin serves the CPU and CUDA builds alike
    torch = CONSTRAINTS["torch"]
    assert torch.local is None
    readme = " ".join((ROOT / "README.md").read_text().split())  # line breaks as spaces
    stated = re.search(r"used in CI and development \(PyTorch ([^,\s]+), CPU build\)", readme)
    assert stated, "README.md should say which PyTorch the constraints pin"
    assert Version(stated.group(1)) == torch


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_each_pin_satisfies_the_package_range(name):
    assert name in CONSTRAINTS, f"{name} is required but not pinned in constraints.txt"
    assert NEEDED[name].specifier.contains(CONSTRAINTS[name], prereleases=True)


def test_the_package_requirements_are_ranges_not_pins():
    for requirement in map(Requirement, PYPROJECT["dependencies"]):
        assert all(s.operator != "==" for s in requirement.specifier), requirement


def test_environment_yml_takes_conda_forge_packages_at_the_constraints_versions():
    _, packages, pip = _environment_yml()
    expected = {CONDA_NAMES.get(name, name): CONSTRAINTS[name] for name in NEEDED}
    assert packages == expected
    assert pip == ["-e ."], "pip installs only the project itself"
    assert not any("cuda" in name or "gpu" in name for name in packages)


def test_binder_matches_the_constraints_with_a_cpu_torch():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    pins = _pins(lines)
    assert set(NEEDED) <= set(pins)
    assert all(_public(pins[name]) == CONSTRAINTS[name] for name in pins)
    assert pins["torch"].local == "cpu"
    assert any(line.startswith("--extra-index-url") and "/whl/cpu" in line for line in lines)


def test_binder_pins_the_whole_environment_as_make_lock_writes_it():
    """Every package the learner's environment installs, with all it requires in turn, is pinned:
    the file is what tools/lock.py computes from the installed packages' metadata."""
    expected = lock.binder_requirements()
    assert (ROOT / "binder" / "requirements.txt").read_text() == expected, "run `make lock`"
    # something deep in the tree, not only the top level
    assert {"jinja2", "pyzmq", "networkx"} <= set(_pins(expected.splitlines()))


def test_lock_follows_extras_and_markers():
    names = lock.closure([Requirement("jsonschema[format-nongpl]")])
    assert {"jsonschema", "fqdn", "isoduration", "referencing"} <= names
    if sys.version_info >= (3, 11):  # pytest needs tomli only before 3.11: the marker is read
        assert "tomli" not in lock.closure([Requirement("pytest")])


def test_binder_installs_the_package_and_fetches_mnist():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    assert "python -m vae_tutorial.mnist" in post_build
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_python_versions_agree():
    python, _, _ = _environment_yml()
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-\d+\.\d+", runtime)
    assert runtime.removeprefix("python-") == python
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(PYPROJECT["requires-python"]).contains(f"{python}.0")


def test_one_version_number_everywhere():
    import importlib.metadata

    import vae_tutorial

    version = vae_tutorial.__version__
    assert importlib.metadata.version("vae_tutorial") == version  # pyproject reads it
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(version)}$", citation, re.MULTILINE)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)", changelog, re.MULTILINE)[0] == version
