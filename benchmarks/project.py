"""A scratch copy of the Kedro project whose raw data is a cached benchmark CSV.

Like ``tests/kedro_project.py``: pyproject.toml and conf/ are copied (the code comes from
the installed package), conf/local is replaced, data folders start empty. Two environments:
``local`` (tracking on, MLflow's SQLite store and artifacts inside the scratch project, at
``STORE`` and ``ARTIFACTS``) and ``untracked`` (the same with ``mlflow.yml: enabled: false``).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks import REPO

UNTRACKED = "untracked"
STORE, ARTIFACTS = "mlflow.db", "mlartifacts"
_DATA_LAYERS = sorted(p.name for p in (REPO / "data").iterdir() if p.is_dir())


def _raw_catalog(csv_folder: Path) -> str:
    return (
        "# The benchmark's cached CSV instead of data/01_raw.\n"
        "raw_transactions@spark:\n"
        "  type: fraud_detection.datasets.RawCsvDataset\n"
        f"  filepath: {csv_folder.resolve()}\n"
        '  pattern: "*.csv"\n'
    )


def scratch_project(root: Path, csv_folder: Path, spark_conf: dict[str, str] | None = None) -> Path:
    """A fresh scratch project under ``root`` reading ``csv_folder``; replaces any old one.

    ``spark_conf`` goes to both environments' ``spark.yml``, over conf/base (to try settings).
    """
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "src").mkdir()  # Kedro wants the folder; the code is the installed package
    shutil.copytree(REPO / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    for env, tracking in (("local", True), (UNTRACKED, False)):
        folder = root / "conf" / env
        folder.mkdir(exist_ok=True)
        (folder / "catalog.yml").write_text(_raw_catalog(csv_folder))
        (folder / "mlflow.yml").write_text(
            f"tracking_uri: sqlite:///{STORE}\nartifact_location: {ARTIFACTS}\n" if tracking
            else "enabled: false\n")
        if spark_conf:
            (folder / "spark.yml").write_text(
                "".join(f"{key}: {value}\n" for key, value in spark_conf.items()))
    clean_outputs(root)
    return root


def clean_outputs(root: Path) -> None:
    """Empty data folders, so every run writes (and hashes) only its own versions."""
    for layer in _DATA_LAYERS:
        folder = root / "data" / layer
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)


def new_store(root: Path) -> float:
    """A new, empty MLflow store for the scratch project; the seconds its creation took.

    A user's store exists after their first run; creating one (SQLite schema migrations)
    takes seconds and is not what a run costs, so it is done before timing and reported
    apart.
    """
    import mlflow

    (root / STORE).unlink(missing_ok=True)
    shutil.rmtree(root / ARTIFACTS, ignore_errors=True)
    started = time.perf_counter()
    mlflow.MlflowClient(f"sqlite:///{root / STORE}").search_experiments()
    return round(time.perf_counter() - started, 2)


def registry_decision(root: Path) -> dict[str, str]:
    """The ``registry.*`` tags (version, decision, reason) of the store's latest run."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / STORE}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    [run] = client.search_runs(experiments, order_by=["attributes.start_time DESC"],
                               max_results=1)
    return {k: v for k, v in run.data.tags.items() if k.startswith("registry.")}


def evaluation_metrics(root: Path) -> dict:
    """The evaluation_metrics.json the last run wrote (there is one version after a clean)."""
    import json

    files = sorted((root / "data/08_reporting/evaluation_metrics.json").glob(
        "*/evaluation_metrics.json"))
    return json.loads(files[-1].read_text()) if files else {}
