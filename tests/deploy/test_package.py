"""``kedro package`` output, installed in a fresh virtual environment, runs outside the repository.

The fresh venv gets the wheel with ``--no-deps`` (fast and offline); a ``.pth`` line puts the
test venv's site-packages after its own for the heavy dependencies (pyspark, mlflow...). That
line is a plain path, so the test venv's own ``.pth`` files, among them the editable install
pointing at ``src/``, are not processed: ``fraud_detection`` can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.deploy.conftest import SMALL_DATA
from tests.kedro_project import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh_venv(packaged, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", purelib], check=True, capture_output=True,
                          text=True)
    Path(site.stdout.strip(), "test_venv_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--quiet", "--no-deps", "--no-index", str(packaged.wheel)], check=True)
    return venv


def _env(venv: Path, workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "KEDRO_ENV", "SPARK_REMOTE"))}
    return env | {
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYSPARK_PYTHON": str(venv / "bin" / "python"),
        "PYSPARK_DRIVER_PYTHON": str(venv / "bin" / "python"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "KEDRO_DISABLE_TELEMETRY": "true",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def test_fraud_detection_imports_from_the_wheel_not_from_src(fresh_venv, tmp_path):
    done = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c",
         "import fraud_detection, pyspark; print(fraud_detection.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env=_env(fresh_venv, tmp_path),
    )
    location = Path(done.stdout.strip())
    assert location.is_relative_to(fresh_venv), location
    assert not location.is_relative_to(REPO)


def test_packaged_entry_point_runs_the_training_pipeline_outside_the_repository(
        fresh_venv, packaged, small_transactions_csv, tmp_path):
    workdir = tmp_path / "job"  # an empty folder with only the raw data: no project files
    (workdir / "data" / "01_raw").mkdir(parents=True)
    (workdir / "data" / "01_raw" / "transactions.csv").write_bytes(
        small_transactions_csv.read_bytes())
    repo_data_before = sorted(p for p in (REPO / "data").rglob("*"))

    done = subprocess.run(
        [str(fresh_venv / "bin" / "fraud-detection"), "--conf-source", str(packaged.conf_archive)],
        cwd=workdir, capture_output=True, text=True, timeout=600, check=False,
        env=_env(fresh_venv, workdir),
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    [version] = (workdir / "data/08_reporting/evaluation_metrics.json").iterdir()
    metrics = json.loads((version / "evaluation_metrics.json").read_text())
    assert metrics["train_frauds"] > 0 and metrics["test_frauds"] > 0
    assert metrics["train_rows"] + metrics["test_rows"] < SMALL_DATA["n_rows"]
    assert metrics["auprc"] > 5 * metrics["baseline_auprc"]
    [model] = (workdir / "data/06_models/fraud_model").iterdir()
    assert (model / "fraud_model" / "stages").is_dir()
    assert not (workdir / "conf").exists() and not (workdir / "pyproject.toml").exists()
    assert sorted(p for p in (REPO / "data").rglob("*")) == repo_data_before
