"""Fixtures of the deployment tests: a small raw CSV and the output of ``kedro package``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kedro_project import REPO

# Small but not trivial: enough frauds that both the training and the test rows have some.
SMALL_DATA = {"n_rows": 5000, "seed": 42, "fraud_rate": 0.005}


@dataclass(frozen=True)
class Package:
    wheel: Path
    conf_archive: Path


@pytest.fixture(scope="session")
def small_transactions_csv(tmp_path_factory) -> Path:
    """A PaySim-format CSV from the project's own generator (no Spark needed to make it)."""
    from fraud_detection.pipelines.data_generation.nodes import generate_transactions

    path = tmp_path_factory.mktemp("raw") / "transactions.csv"
    generate_transactions(dict(SMALL_DATA)).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Package:
    """``kedro package`` run on a copy of the project (the repository's dist/ is not touched)."""
    project = tmp_path_factory.mktemp("package") / "fraud-detection"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, project / name)
    shutil.copytree(REPO / "src", project / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    # conf/local is the developer's machine: like a fresh clone, only its .gitkeep goes.
    shutil.copytree(REPO / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
    (project / "conf" / "local").mkdir()
    (project / "conf" / "local" / ".gitkeep").touch()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "package"], cwd=project,
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
    )
    assert done.returncode == 0, (
        f"kedro package failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    [wheel] = (project / "dist").glob("*.whl")
    return Package(wheel=wheel, conf_archive=project / "dist" / "conf-fraud_detection.tar.gz")
