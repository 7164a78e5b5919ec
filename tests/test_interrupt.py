"""A run stopped with Ctrl-C is recorded as KILLED, not FINISHED, in a real `mlflow server`.

Kedro calls no hook on ``KeyboardInterrupt``, and MLflow's exit handler would close the run
as FINISHED. One Python process runs the pipeline twice, as a notebook would: the first run
is interrupted and the process goes on, the second is interrupted and the process exits.
A Ctrl-C that py4j turns into a ``Py4JError`` of its own is recorded as KILLED too.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from mlflow import MlflowClient
from py4j.protocol import Py4JError

from tests.kedro_project import mlflow_yml, run_kedro, scratch_project, start_script, versions

pytestmark = pytest.mark.integration

EXPERIMENT = "interrupt-test"

TWO_RUNS = """
import sys
from pathlib import Path
from py4j.protocol import Py4JError
from tests.kedro_project import run_kedro

try:
    run_kedro(Path(sys.argv[1]))
except (KeyboardInterrupt, Py4JError):  # py4j may raise its own error for the interrupt
    print("first run interrupted", flush=True)
run_kedro(Path(sys.argv[1]))
"""


def started_run(
    client: MlflowClient, process: subprocess.Popen, log: Path, seen: set[str]
) -> str:
    """The next training run opened (its tags set), once the hook has finished opening it."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is not None:
            for run in client.search_runs([experiment.experiment_id],
                                          "tags.`kedro.pipelines` = '__default__'"):
                if run.info.run_id not in seen and "git.commit" in run.data.tags:
                    return run.info.run_id
        time.sleep(0.2)
    raise AssertionError(f"no training run started: {log.read_text()[-3000:]}")


def test_interrupted_runs_end_killed_at_the_next_run_and_at_exit(
    spark, mlflow_server, tmp_path
):
    project = scratch_project(tmp_path / "interrupted")
    (project / "conf/local/mlflow.yml").write_text(
        mlflow_yml(mlflow_server.url, EXPERIMENT, "fraud-detector-interrupt-test")
    )
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 8000}})
    client = MlflowClient(mlflow_server.url)

    process, log = start_script(TWO_RUNS, str(project), cwd=project)
    try:
        first = started_run(client, process, log, seen=set())
        time.sleep(1)  # into the nodes
        process.send_signal(signal.SIGINT)
        second = started_run(client, process, log, seen={first})
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    finally:
        process.kill()

    output = log.read_text()
    assert "first run interrupted" in output
    assert process.returncode != 0
    for run_id in (first, second):
        run = client.get_run(run_id)
        assert run.info.status == "KILLED", (run_id, output[-3000:])
        assert run.data.tags["error"].startswith("KeyboardInterrupt")


class _Py4JReportsTheInterrupt:
    """What py4j raises when it shuts its connection down twice while handling Ctrl-C."""

    @hook_impl
    def before_node_run(self, node) -> None:
        if node.name == "shard_by_customer":
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt:
                raise Py4JError("Gateway must be connected to send cancel cmd.")


def test_a_ctrl_c_that_py4j_reports_as_its_own_error_ends_killed(spark, mlflow_server, tmp_path):
    project = scratch_project(tmp_path / "py4j")
    (project / "conf/local/mlflow.yml").write_text(
        mlflow_yml(mlflow_server.url, "py4j-interrupt-test", "fraud-detector-py4j-test")
    )
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 2000}})
    with KedroSession.create(project_path=project) as session:
        session._hook_manager.register(_Py4JReportsTheInterrupt())
        with pytest.raises(Py4JError):
            session.run(pipeline_names=["split"])

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("py4j-interrupt-test").experiment_id
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = 'split'")
    assert run.info.status == "KILLED"
    assert run.data.tags["error"].startswith("KeyboardInterrupt")
    [saved] = versions(project / "data/08_reporting/raw_validation.json")  # before the stop
    record = json.loads((saved / "provenance.json").read_text())
    assert (record["status"], record["mlflow_run_id"]) == ("KILLED", run.info.run_id)
