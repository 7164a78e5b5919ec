"""Imports go one way (docs/architecture.md#layers): the import-linter contracts of
pyproject.toml hold for the package, and they do refuse what they forbid.

The second half runs the same contracts on a copy of the package with one bad import (or one
undeclared module) added: a contract that could not fail would pass there too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "fraud_detection"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(config: Path, source_root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with ``config`` on the package found first under ``source_root``."""
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        check=False, cwd=source_root, env=env, capture_output=True, text=True, timeout=300,
    )


def test_the_package_keeps_its_declared_layers():
    result = _lint_imports(REPO / "pyproject.toml", REPO / "src")
    assert result.returncode == 0, (
        f"{result.stdout[-4000:]}{result.stderr[-2000:]}\nAn import runs against the layers "
        "declared in pyproject.toml [tool.importlinter] (docs/architecture.md#layers): move "
        "the shared piece down to the lowest layer that uses it, or declare a new module there."
    )
    assert "BROKEN" not in result.stdout and " KEPT" in result.stdout


# (module of the copy, line appended to it, what the report must name)
BAD = {
    "a node imports a hook": (
        "pipelines/train/nodes.py", "from fraud_detection.hooks import spark_cache",
        "fraud_detection.pipelines.train.nodes -> fraud_detection.hooks.spark_cache",
    ),
    "a dataset imports tracking, inside a function": (
        "datasets/spark_ml.py", "def _late():\n    from fraud_detection.tracking import registry",
        "fraud_detection.datasets.spark_ml -> fraud_detection.tracking.registry",
    ),
    "a foundation imports a pipeline": (
        "schema.py", "import fraud_detection.pipelines.score.nodes",
        "fraud_detection.schema -> fraud_detection.pipelines.score.nodes",
    ),
    "a node imports MLflow": (
        "pipelines/aggregate/nodes.py", "import mlflow",
        "fraud_detection.pipelines.aggregate.nodes -> mlflow",
    ),
    "a training stage imports another's nodes": (
        "pipelines/train/nodes.py", "from fraud_detection.pipelines.split import nodes",
        "fraud_detection.pipelines.train.nodes -> fraud_detection.pipelines.split.nodes",
    ),
    "a module in no layer": (
        "undeclared.py", "UNDECLARED = True",
        "fraud_detection.undeclared",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_the_contracts_refuse_a_bad_import(tmp_path, case):
    module, line, named = BAD[case]
    copy = tmp_path / "src" / "fraud_detection"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    existing = target.read_text() if target.exists() else ""
    target.write_text(f"{existing}\n{line}\n")
    result = _lint_imports(REPO / "pyproject.toml", tmp_path / "src")
    assert result.returncode != 0, result.stdout[-3000:]
    assert "BROKEN" in result.stdout
    assert named in result.stdout, result.stdout[-3000:]
