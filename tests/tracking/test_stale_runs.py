"""Which RUNNING MLflow runs a new run ends as stale, in a real (SQLite) store.

The processes are real: one killed, this test's own (alive), and this test's process ID
with another start time (a reused ID, not the process that opened the run).
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

from mlflow import MlflowClient

from fraud_detection.datasets.complete_versions import process_identity
from fraud_detection.tracking.stale_runs import end_stale_runs, process_tags


def _killed_process_tags() -> dict[str, str]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = process_identity(process.pid)
    process.kill()
    process.wait()
    return {"kedro.host": identity["host"], "kedro.pid": str(identity["pid"]),
            "kedro.pid_started": repr(identity["started"])}


def test_only_runs_of_processes_gone_from_this_host_end_failed(tmp_path, caplog):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("stale", artifact_location=tmp_path.as_uri())
    killed, alive = _killed_process_tags(), process_tags()
    tagged = {
        "killed": killed,
        "alive": alive,
        "reused_pid": {**alive, "kedro.pid_started": "12345.0"},
        "other_host": {**killed, "kedro.host": "another-host"},
        "untagged": {},  # not opened by this project's hook: never touched
    }
    runs = {name: client.create_run(experiment, tags=tags).info.run_id
            for name, tags in tagged.items()}

    with caplog.at_level(logging.WARNING):
        ended = end_stale_runs(client, [experiment])

    assert sorted(ended) == sorted([runs["killed"], runs["reused_pid"]])
    status = {name: client.get_run(run_id).info.status for name, run_id in runs.items()}
    assert status == {"killed": "FAILED", "reused_pid": "FAILED", "alive": "RUNNING",
                      "other_host": "RUNNING", "untagged": "RUNNING"}
    host = socket.gethostname()
    assert client.get_run(runs["killed"]).data.tags["kedro.ended_by"] == (
        f"stale: process {killed['kedro.pid']} on host {host} no longer runs")
    assert f"ended MLflow run {runs['killed']} as FAILED" in caplog.text
    assert (f"MLflow runs RUNNING on other hosts, left alone (this host cannot tell whether "
            f"their processes still run): {runs['other_host']} (another-host)") in caplog.text
    assert end_stale_runs(client, [experiment]) == []  # ended once
