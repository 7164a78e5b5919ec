"""A run stopped with Ctrl-C writes provenance.json, status KILLED, for the versions it
completed, like any other run.

Kedro calls no hook on ``KeyboardInterrupt``: the records are written when the process's
next run starts (a notebook) or when the process exits. One Python process runs the split
pipeline twice; each run gets a real SIGINT (pyspark's Ctrl-C handler turns it into
``KeyboardInterrupt``) once validation has saved its versions: the first run's interrupt is
caught and the process goes on, the second's ends the process.
"""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from tests.kedro_project import run_kedro, scratch_project, start_script, versions

pytestmark = pytest.mark.integration

TWO_INTERRUPTED_RUNS = """
import os
import signal
import sys
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project


class CtrlC:
    @hook_impl
    def before_node_run(self, node):
        if node.name == "shard_by_customer":  # validation's versions are saved
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(60)  # the interrupt arrives here


def run(project):
    bootstrap_project(project)
    with KedroSession.create(project_path=project) as session:
        session._hook_manager.register(CtrlC())
        session.run(pipeline_names=["split"])


try:
    run(Path(sys.argv[1]))
except KeyboardInterrupt:
    print("first run interrupted", flush=True)
run(Path(sys.argv[1]))
"""


def test_versions_completed_before_ctrl_c_get_a_killed_provenance_record(spark, tmp_path):
    project = scratch_project(tmp_path / "ctrl-c")
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 2000}})
    process, log = start_script(TWO_INTERRUPTED_RUNS, str(project), cwd=project)
    process.wait(timeout=600)
    output = log.read_text()
    assert "first run interrupted" in output, output[-3000:]
    assert process.returncode != 0 and "KeyboardInterrupt" in output

    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fraud-detection").experiment_id
    runs = client.search_runs([experiment], "tags.`kedro.pipelines` = 'split'")
    assert [run.info.status for run in runs] == ["KILLED", "KILLED"]
    kedro_runs = {run.data.tags["kedro.run_id"]: run.info.run_id for run in runs}
    for folder in ("data/08_reporting/raw_validation.json",
                   "data/02_intermediate/quarantined_transactions.parquet"):
        saved = versions(project / folder)
        assert [v.name for v in saved] == sorted(kedro_runs), folder  # one per run
        for version in saved:  # the first run's written at the second's start, then at exit
            record = json.loads((version / "provenance.json").read_text())
            assert record["status"] == "KILLED"
            assert record["mlflow_run_id"] == kedro_runs[version.name]
            assert set(record["inputs"]) == {"raw_transactions@spark"}
            assert record["inputs"]["raw_transactions@spark"]["digest"]
            assert set(record["parameters"]) == {"params:split"}
    # The node that was interrupted saved nothing.
    assert not (project / "data/02_intermediate/transaction_shards").exists()
