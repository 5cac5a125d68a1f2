"""environment.yml (Binder, conda) installs the same packages as pyproject.toml."""
from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement

from bookfiles import ROOT

BINDER_EXTRAS = ("torch", "tensorflow", "book", "hf", "eval")


def _normalise(requirements):
    return {(r.name.lower(), str(r.specifier), str(r.marker) if r.marker else "") for r in map(Requirement, requirements)}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expected = list(project["dependencies"])
    for extra in BINDER_EXTRAS:
        expected += project["optional-dependencies"][extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(pip_lists) == 1, "environment.yml needs one pip: section"
    listed = [line for line in pip_lists[0] if not line.startswith("-")]
    assert _normalise(listed) == _normalise(expected), (
        f"only in environment.yml: {sorted(_normalise(listed) - _normalise(expected))}; "
        f"only in pyproject.toml: {sorted(_normalise(expected) - _normalise(listed))}")


def test_no_exact_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    everything = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    pinned = [r for r in everything if any(spec.operator in ("==", "===") for spec in Requirement(r).specifier)]
    assert not pinned, f"exact pins break installs; use ranges: {pinned}"
