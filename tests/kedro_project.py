"""Run the real Kedro project in a scratch copy, so tests never touch the repository's data/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

REPO = Path(__file__).resolve().parents[1]

# Machine-local overrides a user could put in conf/local/: small shuffles for small data.
TEST_SPARK = "spark.sql.shuffle.partitions: 4\n"


def scratch_project(root: Path) -> Path:
    """A copy of pyproject.toml and conf/, with empty data folders, under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "src").mkdir()  # Kedro wants the folder; the code comes from the installed package
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "conf" / "local" / "spark.yml").write_text(TEST_SPARK)
    for layer in (REPO / "data").iterdir():
        (root / "data" / layer.name).mkdir(parents=True, exist_ok=True)
    return root


def mlflow_yml(tracking_uri: str, experiment: str, model: str) -> str:
    """A conf/<env>/mlflow.yml: the store, the experiment and the registered model's name."""
    return (f"tracking_uri: {tracking_uri}\nexperiment_name: {experiment}\n"
            f"registered_model_name: {model}\n")


def run_kedro(project: Path, pipelines: list[str] | None = None, env: str | None = None,
              params: dict[str, Any] | None = None, **run_args: Any) -> dict[str, Any]:
    """``kedro run`` in-process (the test run's SparkSession is reused, not restarted)."""
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env, runtime_params=params or {}) as session:
        return session.run(pipeline_names=pipelines, **run_args)


def versions(folder: Path) -> list[Path]:
    """The saved versions of a Kedro versioned dataset, oldest first."""
    return sorted(p for p in folder.iterdir() if p.is_dir())


def start_script(source: str, *args: str, cwd: Path) -> tuple[subprocess.Popen, Path]:
    """``source`` run as a Python script (``cwd/script.py``) in a process of its own, with the
    tests' modules importable, and the file its output goes to, log lines unwrapped. A file,
    not a pipe: a pipe nobody reads while the script runs fills up and stops it."""
    script, log = cwd / "script.py", cwd / "script.log"
    script.write_text(source)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(script), *args], cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "400"},
            stdout=output, stderr=subprocess.STDOUT,
        )
    return process, log
