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
NEEDED = {
    canonicalize_name(Requirement(r).name): Requirement(r)
    for r in PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["notebooks"]
}


def _environment_yml() -> tuple[str, list[str]]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in spec["dependencies"] if isinstance(d, str) and d.startswith("python"))
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    return python.split("=", 1)[1], pip


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


def test_environment_yml_matches_the_constraints():
    python, pip = _environment_yml()
    pins = _pins(pip)
    assert set(pins) == set(NEEDED)
    assert all(pins[name] == CONSTRAINTS[name] for name in pins)
    assert "-e ." in pip


def test_binder_matches_the_constraints_with_a_cpu_torch():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    pins = _pins(lines)
    assert set(pins) == set(NEEDED)
    assert all(_public(pins[name]) == CONSTRAINTS[name] for name in pins)
    assert pins["torch"].local == "cpu"
    assert any(line.startswith("--extra-index-url") and "/whl/cpu" in line for line in lines)


def test_binder_installs_the_package_and_fetches_mnist():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    assert "python -m vae_tutorial.mnist" in post_build
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_python_versions_agree():
    python, _ = _environment_yml()
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
