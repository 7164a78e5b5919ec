"""The training pipeline on a real Spark standalone cluster gives the local run's result.

A master and one worker start on 127.0.0.1 (tests/deploy/spark_cluster.py); ``kedro run --env
cluster`` runs in a separate driver process (a process has one SparkContext, and the test run's
local one is taken) with the one setting the README documents: ``--params spark.master=...``.
The local run reuses the test run's session. Both read the same raw CSV with the same Spark
partitioning settings; Spark's event log shows which executor ran each task.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.ml import PipelineModel

from tests.deploy.spark_cluster import StandaloneCluster, event_log_tasks
from tests.kedro_project import run_kedro, scratch_project, versions
from tests.test_spark_hook import closed_port

pytestmark = pytest.mark.integration

# What the test session's local SparkSession uses (tests/conftest.py), so that both runs
# partition the data alike; and an event log to see where tasks ran.
CLUSTER_TEST_SPARK = """\
spark.sql.shuffle.partitions: 4
spark.default.parallelism: 4
spark.driver.memory: 1g
spark.cores.max: 2
spark.ui.enabled: false
spark.eventLog.enabled: true
spark.eventLog.dir: file://{event_dir}
spark.eventLog.rolling.enabled: false
spark.eventLog.compress: false
"""
EXECUTOR_MEMORY = "768m"


def _project(root: Path, raw_csv: Path) -> Path:
    project = scratch_project(root)
    shutil.copy(raw_csv, project / "data" / "01_raw" / "transactions.csv")
    # The MLflow hook is not what this test is about (and it costs time): both runs leave it off.
    for env in ("local", "cluster"):
        (project / "conf" / env / "mlflow.yml").write_text("enabled: false\n")
    return project


def _output(project: Path, relative: str) -> Path:
    folder = project / relative
    [version] = versions(folder)
    return version / folder.name


def _metrics(project: Path) -> dict:
    return json.loads(_output(project, "data/08_reporting/evaluation_metrics.json").read_text())


@pytest.fixture(scope="module")
def local_project(spark, small_transactions_csv, tmp_path_factory) -> Path:
    project = _project(tmp_path_factory.mktemp("local"), small_transactions_csv)
    run_kedro(project)
    return project


def test_training_on_a_standalone_cluster_runs_on_its_executor_and_matches_local(
        spark, local_project, small_transactions_csv, tmp_path):
    project = _project(tmp_path / "cluster-run", small_transactions_csv)
    event_dir = tmp_path / "events"
    event_dir.mkdir()
    (project / "conf" / "cluster" / "spark_test.yml").write_text(
        CLUSTER_TEST_SPARK.format(event_dir=event_dir))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "KEDRO_DISABLE_TELEMETRY": "true",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("SPARK_REMOTE", None)

    with StandaloneCluster(tmp_path / "spark") as cluster:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "kedro"), "run", "--env", "cluster", "--params",
             f"spark.master={cluster.master_url},spark.executor.memory={EXECUTOR_MEMORY}"],
            cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False,
        )
        assert done.returncode == 0, (done.stdout[-4000:] + done.stderr[-4000:]
                                      + cluster.logs())
        # The driver has exited: the master closes the application and the worker its executor.
        cluster.wait_until(lambda: cluster.master_state()["completedapps"]
                           and cluster.worker_state()["finishedexecutors"],
                           "the application to finish")
        master, worker = cluster.master_state(), cluster.worker_state()

    # The cluster ran one application, on the worker's executor, and every task ran there.
    [app] = master["completedapps"]
    [executor] = worker["finishedexecutors"]
    assert executor["appid"] == app["id"]
    executors, task_executors = event_log_tasks(event_dir)
    assert "driver" not in executors and list(executors.values()) == ["127.0.0.1"]
    assert len(task_executors) > 20
    assert set(task_executors) == set(executors) == {str(executor["id"])}

    # Same features, same tree, same evaluation as the local[*] run.
    table = "data/04_feature/model_input_table.parquet"
    on_cluster = spark.read.parquet(str(_output(project, table)))
    local = spark.read.parquet(str(_output(local_project, table)))
    assert on_cluster.count() == local.count() > 0
    assert on_cluster.exceptAll(local).count() == 0 and local.exceptAll(on_cluster).count() == 0
    trees = [re.sub(r"uid=\S+", "", PipelineModel.load(
        str(_output(p, "data/06_models/fraud_model"))).stages[-1].toDebugString)
        for p in (project, local_project)]
    assert trees[0] == trees[1] and "If (feature" in trees[0]
    assert _metrics(project) == _metrics(local_project)


def test_a_master_that_does_not_answer_stops_the_run_naming_it(small_transactions_csv, tmp_path):
    """Before the JVM starts: Spark alone retries for a minute, then reports a stopped
    SparkContext."""
    project = _project(tmp_path / "no-master", small_transactions_csv)
    master = f"spark://127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "kedro"), "run", "--env", "cluster", "--params",
         f"spark.master={master}"],
        cwd=project, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    shown = " ".join(done.stderr.split())  # the traceback's lines wrap
    assert done.returncode != 0
    assert f"spark.master {master} does not answer" in shown, shown[-3000:]
    assert "SparkContext" not in shown and not list((project / "data").rglob("*.parquet"))
