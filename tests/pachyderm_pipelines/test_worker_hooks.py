"""The worker hooks in a real Kedro run of the worker environment: a datum that fails leaves
its job's MLflow run FAILED with the datum's tag and error, and pachd's retry of that datum,
once it succeeds, finishes the same run. In-process (the test run's Spark), on a tiny raw file
under a temporary /pfs, with the tests' MLflow server."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from mlflow import MlflowClient

from tests.kedro_project import run_kedro, scratch_project
from tests.raw_files import VALID_LINES, write_csv

pytestmark = pytest.mark.integration

EXPERIMENT = "pachyderm-worker-hooks-test"


@pytest.fixture
def worker(tmp_path, mlflow_server, monkeypatch):
    """A scratch project and the environment pachd gives the split's one datum."""
    project = scratch_project(tmp_path / "project")
    (project / "conf/pachyderm_worker/parameters_split.yml").write_text("split:\n  n_shards: 2\n")
    (project / "conf/pachyderm_worker/mlflow.yml").write_text(
        f"enabled: true\nexperiment_name: {EXPERIMENT}\n"
        "registered_model_name: fraud-detector-worker-hooks-test\n")
    pfs, job = tmp_path / "pfs", uuid.uuid4().hex
    (pfs / "out").mkdir(parents=True)
    env = {"PACH_JOB_ID": job, "PACH_OUTPUT_COMMIT_ID": job, "PACH_DATUM_ID": "d" * 64,
           "PPS_PIPELINE_NAME": "split", "FRAUD_DETECTION_PFS_ROOT": str(pfs),
           "raw": str(pfs / "raw"), "raw_COMMIT": job, "MLFLOW_TRACKING_URI": mlflow_server.url}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return project, pfs, job


def test_a_failed_datum_fails_the_job_run_and_its_retry_finishes_the_same_run(
        spark, worker, mlflow_server):
    project, pfs, job = worker
    client = MlflowClient(mlflow_server.url)
    datum = f"pachyderm.datum.{'d' * 64}"
    write_csv(pfs / "raw", VALID_LINES, header="step,type,Amount,nameOrig")
    with pytest.raises(Exception, match="Amount"):
        run_kedro(project, ["split"], env="pachyderm_worker")
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    [run] = client.search_runs([experiment], f"tags.`pachyderm.job_id` = '{job}'")
    assert run.info.status == "FAILED"
    assert run.data.tags[datum] == "FAILED" and "Amount" in run.data.tags[f"{datum}.error"]
    assert run.data.tags[f"{datum}.input"] == f"raw@{job}:/"
    assert "MLFLOW_RUN_ID" not in os.environ
    assert not (pfs / "out/.provenance").exists()  # pachd discards a failed datum's /pfs/out
    # pachd retries the datum (datumTries) with the same input; here, a fixed file
    write_csv(pfs / "raw", VALID_LINES)
    run_kedro(project, ["split"], env="pachyderm_worker")
    [again] = client.search_runs([experiment], f"tags.`pachyderm.job_id` = '{job}'")
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert again.data.tags[datum] == "FINISHED"
    assert "Amount" in again.data.tags[f"{datum}.error"]  # the record of the failed try
    record = json.loads((pfs / f"out/.provenance/split-{'d' * 64}.json").read_text())
    assert record["mlflow_run_id"] == run.info.run_id and record["PACH_JOB_ID"] == job
