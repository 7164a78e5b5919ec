"""A `kedro run` killed with SIGKILL while it saves: the next run cleans up after it.

``kill -9`` (or the OOM killer) runs no Python code: the MLflow run stays RUNNING and the
version folder being written stays as it was. The next run of the project, in a real
`mlflow server`, ends that MLflow run as FAILED with a tag saying why, and loads the newest
complete version of the dataset, naming the unfinished one it skipped.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.kedro_project import mlflow_yml, run_kedro, scratch_project, start_script, versions

pytestmark = pytest.mark.integration

EXPERIMENT = "killed-run-test"
TABLE = "data/04_feature/model_input_table.parquet"

AGGREGATE = """
import sys
from pathlib import Path
from tests.kedro_project import run_kedro

run_kedro(Path(sys.argv[1]), ["aggregate"])
"""


def _kill_while_saving(project: Path, complete: Path) -> int:
    """Start `kedro run --pipelines aggregate` in a process of its own and SIGKILL it once
    Spark has begun writing the table's new version; the killed process's ID."""
    table = project / TABLE
    process, log = start_script(AGGREGATE, str(project), cwd=project)
    try:
        deadline = time.monotonic() + 300
        while not [v for v in versions(table) if v != complete and (v / table.name).exists()]:
            assert process.poll() is None, f"the run ended before its save: {log.read_text()}"
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait(timeout=60)
    return process.pid


class _Lines(logging.Handler):
    """The project's log lines, caught on its own logger: Kedro's session configures the
    root logger's handlers anew, dropping pytest's."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += record.getMessage() + "\n"


def test_the_next_run_ends_the_killed_run_and_skips_its_unfinished_version(
    spark, mlflow_server, tmp_path
):
    project = scratch_project(tmp_path / "killed")
    (project / "conf/local/mlflow.yml").write_text(
        mlflow_yml(mlflow_server.url, EXPERIMENT, "fraud-detector-killed-test"))
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 4000}})
    run_kedro(project, ["split", "aggregate"])
    [complete] = versions(project / TABLE)

    pid = _kill_while_saving(project, complete)

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    [killed] = client.search_runs([experiment], "tags.`kedro.pipelines` = 'aggregate'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
    assert killed.info.status == "RUNNING" and killed.data.tags["kedro.pid"] == str(pid)
    [unfinished] = [v for v in versions(project / TABLE) if v != complete]

    lines, project_log = _Lines(), logging.getLogger("fraud_detection")
    project_log.addHandler(lines)
    try:
        run_kedro(project, ["train"])
    finally:
        project_log.removeHandler(lines)

    host = socket.gethostname()
    ended = client.get_run(killed.info.run_id)
    assert ended.info.status == "FAILED"
    assert ended.data.tags["kedro.ended_by"] == (
        f"stale: process {pid} on host {host} no longer runs")
    assert (f"ended MLflow run {killed.info.run_id} as FAILED, stale: process {pid} on host "
            f"{host} no longer runs") in lines.text
    assert (f"{project / TABLE}: skipped unfinished version {unfinished.name}: its save never "
            f"finished: process {pid} on host {host} no longer runs (killed during the save); "
            f"loading {complete.name} instead") in lines.text
    [trained] = client.search_runs([experiment], "tags.`kedro.pipelines` = 'train'")
    assert trained.info.status == "FINISHED"
    assert trained.data.tags["kedro.input.model_input_table"] == complete.name
