"""The whole local pipeline through ``kedro run``: generate, split, aggregate, train."""

from __future__ import annotations

import json
import logging
import re

import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from fraud_detection.pipelines.split.nodes import RawDataError
from fraud_detection.provenance import data_provenance, run_provenance
from tests.kedro_project import run_kedro, scratch_project, versions
from tests.provenance_expected import TRAINING
from tests.raw_files import VALID_LINES, write_csv

pytestmark = pytest.mark.integration

N_ROWS = 20_000
TRAINING_LOG: list[str] = []  # what the training run logged, message by message


class _Collect(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        TRAINING_LOG.append(record.getMessage())


@pytest.fixture(scope="module")
def trained_project(spark, tmp_path_factory):
    project = scratch_project(tmp_path_factory.mktemp("e2e"))
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": N_ROWS}})
    spark.catalog.clearCache()  # what earlier tests left in the shared session
    collect, package = _Collect(level=logging.INFO), logging.getLogger("fraud_detection")
    package.addHandler(collect)
    try:
        run_kedro(project)
    finally:
        package.removeHandler(collect)
    return project


def test_the_run_leaves_no_spark_cache_behind(spark, trained_project):
    # The session outlives the run, as a notebook's or an all-purpose cluster's does.
    assert spark.sparkContext._jsc.getPersistentRDDs().isEmpty()


def _only_version(project, relative):
    folder = project / relative
    [version] = versions(folder)
    return version / folder.name


def test_generated_raw_file_is_plain_csv(trained_project):
    lines = (trained_project / "data/01_raw/transactions.csv").read_text().splitlines()
    assert lines[0] == ("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,"
                        "oldbalanceDest,newbalanceDest,isFraud,isFlaggedFraud")
    assert len(lines) == N_ROWS + 1


def test_every_output_exists_versioned_and_non_empty(spark, trained_project):
    shards = _only_version(trained_project, "data/02_intermediate/transaction_shards")
    shard_dirs = sorted(p.name for p in shards.iterdir() if p.name.startswith("shard="))
    assert shard_dirs == sorted(f"shard={i}" for i in range(16))
    assert spark.read.parquet(str(shards)).count() == N_ROWS
    table = _only_version(trained_project, "data/04_feature/model_input_table.parquet")
    assert spark.read.parquet(str(table)).count() == N_ROWS
    model = _only_version(trained_project, "data/06_models/fraud_model")
    assert (model / "stages").is_dir() and (model / "metadata").is_dir()
    report = json.loads(_only_version(trained_project, "data/08_reporting/raw_validation.json")
                        .read_text())
    assert report["rows"] == N_ROWS and report["quarantined"] == 0


def test_each_customer_lives_in_one_shard(spark, trained_project):
    shards = _only_version(trained_project, "data/02_intermediate/transaction_shards")
    rows = spark.read.parquet(str(shards))
    spread = rows.groupBy("nameOrig").agg(F.countDistinct("shard").alias("shards"))
    assert spread.where("shards > 1").count() == 0


def test_model_clearly_beats_the_trivial_baseline(trained_project):
    metrics = json.loads(
        _only_version(trained_project, "data/08_reporting/evaluation_metrics.json").read_text()
    )
    assert metrics["test_frauds"] > 0
    assert metrics["auprc"] > 0.5
    assert metrics["auprc"] > 20 * metrics["baseline_auprc"]
    assert metrics["auroc"] > 0.9
    assert sum(metrics["confusion_matrix"].values()) == metrics["test_rows"]


def test_the_run_ends_saying_what_it_made_and_where_to_open_it(trained_project):
    """The last lines: the score against the baseline, the registered version with its
    coordinate and aliases, and the MLflow run with the way to open it."""
    client = MlflowClient(f"sqlite:///{trained_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fraud-detection").experiment_id
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = '__default__'")
    metrics = json.loads(
        _only_version(trained_project, "data/08_reporting/evaluation_metrics.json").read_text()
    )
    tags = run.data.tags
    start = next(i for i, line in enumerate(TRAINING_LOG) if line.startswith("auprc "))
    assert TRAINING_LOG[start:] == [
        (f"auprc {metrics['auprc']:.4f} (baseline {metrics['baseline_auprc']:.4f}: a model "
        "that ranks at random)"),
        (f"registered fraud-detector version 1 ({tags['registry.coordinate']}), aliases "
        "champion, challenger: no champion yet"),
        (f"MLflow run {run.info.run_id}: `make ui`, then "
        f"http://127.0.0.1:5000/#/experiments/{experiment}/runs/{run.info.run_id}"),
    ]
    assert re.fullmatch(r"[\w.-]+:[\w.-]+:\d+\.\d+\.1", tags["registry.coordinate"])


def test_too_many_malformed_rows_fail_the_run_and_keep_the_quarantine(spark, tmp_path):
    project = scratch_project(tmp_path / "bad")
    bad = ["3,PAYMENT,abc,C7,10.0,0.0,M1,0.0,0.0,0,0", "4,WIRE,1.0,C8,10.0,9.0,C1,0.0,0.0,0,0"]
    write_csv(project / "data/01_raw", VALID_LINES * 4 + bad)
    spark.catalog.clearCache()
    with pytest.raises(RawDataError, match=r"2 of 10 rows .* are malformed \(20.00%\)"):
        run_kedro(project, ["split"])
    assert spark.sparkContext._jsc.getPersistentRDDs().isEmpty()  # the failed run's cache too
    quarantine = _only_version(project, "data/02_intermediate/quarantined_transactions.parquet")
    rows = {r["step"]: r["problems"] for r in spark.read.parquet(str(quarantine)).collect()}
    assert rows == {"3": "amount: not a number ('abc')", "4": "type: unknown value 'WIRE'"}
    # Nothing downstream was written: no shard version looks complete.
    assert not (project / "data/02_intermediate/transaction_shards").exists()


def test_quarantined_rows_under_the_threshold_do_not_stop_the_run(spark, tmp_path):
    project = scratch_project(tmp_path / "some-bad")
    write_csv(project / "data/01_raw", VALID_LINES * 4 + ["3,PAYMENT,abc,C7,10.0,0.0,M1,0,0,0,0"])
    run_kedro(project, ["split"], params={"split": {"max_quarantine_fraction": 0.2}})
    shards = _only_version(project, "data/02_intermediate/transaction_shards")
    assert spark.read.parquet(str(shards)).count() == 8


FOLDERS = {
    "quarantined_transactions": "data/02_intermediate/quarantined_transactions.parquet",
    "raw_validation_report": "data/08_reporting/raw_validation.json",
    "transaction_shards": "data/02_intermediate/transaction_shards",
    "model_input_table": "data/04_feature/model_input_table.parquet",
    "fraud_model": "data/06_models/fraud_model",
    "evaluation_metrics": "data/08_reporting/evaluation_metrics.json",
    "evaluation_plots": "data/08_reporting/evaluation_plots",
}


def test_each_output_names_exactly_the_stored_versions_it_was_derived_from(trained_project):
    """provenance.json beside each version: its node's stored inputs, followed back through
    in-memory datasets, at the versions this run read; the MLflow run keeps the run's
    inputs (the raw CSV) apart from its outputs."""
    saved = {name: versions(trained_project / folder) for name, folder in FOLDERS.items()}
    version = {name: only.name for name, [only] in saved.items()}
    client = MlflowClient(f"sqlite:///{trained_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("fraud-detection").experiment_id
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = '__default__'")
    raw_digest = run.data.tags["kedro.input.raw_transactions"]
    for name, (stored, params) in TRAINING.items():
        record = json.loads((saved[name][0] / "provenance.json").read_text())
        assert (record["dataset"], record["status"], record["mlflow_run_id"]) == (
            name, "FINISHED", run.info.run_id)
        assert set(record["inputs"]) == stored, name
        assert {i: v.get("version") or v["digest"] for i, v in record["inputs"].items()} == {
            i: version.get(i, raw_digest) for i in stored}, name
        assert set(record["parameters"]) == params, name
    model = json.loads((saved["fraud_model"][0] / "provenance.json").read_text())
    assert model["parameters"]["params:train"]["model"]["max_depth"] == 8
    assert (model["node"], model["derived_through"]) == ("fit_model", ["split_train_test"])

    found = run_provenance(run.info.run_id, client)
    assert found["inputs"] == {"raw_transactions": raw_digest}
    assert found["outputs"] == version
    assert {(d["name"], d["role"]) for d in found["datasets"]} == (
        {("raw_transactions", "input")} | {(name, "output") for name in TRAINING})
    # Which runs used or produced a version: the table is this run's output, the raw CSV
    # its input.
    table = data_provenance("model_input_table", version["model_input_table"], client)
    assert ([r["run_id"] for r in table["produced_by"]], table["used_by"]) == (
        [run.info.run_id], [])
    raw = data_provenance("raw_transactions", raw_digest, client)
    assert [r["run_id"] for r in raw["used_by"]] == [run.info.run_id]
