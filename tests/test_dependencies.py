"""pyproject.toml and conda.yaml must list the same dependencies with the same ranges."""

from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement

from tests.kedro_project import REPO


def _normalised(requirements: list[str]) -> dict[str, str]:
    parsed = [Requirement(text) for text in requirements]
    return {req.name.lower().replace("_", "-"): str(req.specifier) for req in parsed}


def test_conda_env_lists_the_project_dependencies():
    """The conda env is a standalone machine: the dependencies plus Spark itself."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    conda = yaml.safe_load((REPO / "conda.yaml").read_text())
    [pip_section] = [d for d in conda["dependencies"] if isinstance(d, dict)]
    expected = project["dependencies"] + project["optional-dependencies"]["spark"]
    assert _normalised(pip_section["pip"]) == _normalised(expected)


def test_test_extra_installs_spark_with_the_same_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    spark = _normalised(extras["spark"])
    test = _normalised(extras["test"])
    assert {name: spec for name, spec in test.items() if name in spark} == spark


def test_conda_env_python_matches_requires_python():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    conda = yaml.safe_load((REPO / "conda.yaml").read_text())
    python = next(
        d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("python=")
    )
    version = python.split("=")[1]
    assert Requirement(f"python{project['requires-python']}").specifier.contains(version)
