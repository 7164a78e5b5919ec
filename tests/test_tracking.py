"""MLflow tracking of real `kedro run`s against a real `mlflow server` process.

Three training runs on the same generated data: a weak model, a strong one, a weak one
again. They exercise params, tags, metrics, dataset inputs, artifacts, the logged model,
registry versions, coordinates and the champion/challenger moves, and both provenance
lookups. Further tests cover a failing node, an unreachable server and credentials.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from kedro.io.core import Version
from kedro_datasets.spark import SparkDatasetV2
from mlflow import MlflowClient
from mlflow.models.utils import load_serving_example

from fraud_detection.hooks.mlflow_tracking import (
    ParameterConflictError,
    TrackingUnavailableError,
)
from fraud_detection.pipelines.train.evaluation import rows_fingerprint
from fraud_detection.pipelines.train.nodes import split_train_test
from fraud_detection.provenance import (
    data_provenance,
    model_provenance,
    run_provenance,
    stored_record,
)
from fraud_detection.tracking.champion import FINGERPRINT_TAG, RECORDED, score_version
from tests.kedro_project import mlflow_yml, run_kedro, scratch_project, versions
from tests.registry import mlflow_uris, saved_model_files, train_params

pytestmark = pytest.mark.integration

MODEL = "fraud-detector-tracking-test"
EXPERIMENT = "tracking-test"
WEAK = {"train": {"numeric_features": ["hourOfDay"], "model": {"max_depth": 2}}}
STRONG = {"train": {"model": {"max_depth": 6}}}
SECRET = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def tracked(spark, mlflow_server, tmp_path_factory):
    """A scratch project tracked by the server, with three training runs done."""
    project = scratch_project(tmp_path_factory.mktemp("tracked"))
    (project / "conf/local/mlflow.yml").write_text(mlflow_yml(mlflow_server.url, EXPERIMENT, MODEL))
    (project / "conf/local/credentials.yml").write_text(
        f"mlflow:\n  username: analyst\n  password: {SECRET}\n"
    )
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 20_000}})
    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    runs = []
    for params in (WEAK, STRONG, WEAK):
        run_kedro(project, params=params)
        latest = client.search_runs([experiment], "tags.`kedro.pipelines` = '__default__'",
                                    order_by=["attributes.start_time DESC"], max_results=1)
        runs.append(latest[0])
    return project, client, runs


def test_run_records_params_tags_and_metrics(tracked):
    _, client, runs = tracked
    run = client.get_run(runs[1].info.run_id)
    assert run.info.status == "FINISHED"
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    assert params["train.model.max_depth"] == "6"
    assert params["split.n_shards"] == "16"
    assert params["data_generation.seed"] == "42"
    assert json.loads(params["train.transaction_types"]) == ["TRANSFER", "CASH_OUT"]
    assert tags["kedro.env"] == "local" and tags["kedro.pipelines"] == "__default__"
    assert tags["kedro.runner"] and tags["kedro.run_id"]
    assert tags["git.commit"] and tags["git.dirty"] in ("true", "false", "unknown")
    assert tags["project.version"] == "0.1.0"
    assert 0.5 < metrics["auprc"] <= 1.0 and metrics["auprc"] > 20 * metrics["baseline_auprc"]
    for name in ("auroc", "precision", "recall", "f1", "threshold", "confusion_matrix.tp"):
        assert name in metrics


def test_run_logs_every_dataset_version_as_an_mlflow_input(tracked):
    _, client, runs = tracked
    run = client.get_run(runs[1].info.run_id)
    logged = {entry.dataset.name: entry for entry in run.inputs.dataset_inputs}
    assert {"raw_transactions@spark", "transaction_shards", "model_input_table",
            "fraud_model", "evaluation_metrics"} <= set(logged)
    shards = logged["transaction_shards"]
    assert shards.dataset.source_type == "kedro"
    source = json.loads(shards.dataset.source)
    version = run.data.tags["kedro.output.transaction_shards"]
    assert source["version"] == version
    assert source["path"].endswith(f"transaction_shards/{version}/transaction_shards")
    raw = json.loads(logged["raw_transactions@spark"].dataset.source)
    assert raw["path"].endswith("data/01_raw")
    assert len(run.data.tags["kedro.input.raw_transactions"]) == 64  # content sha256


def test_run_logs_model_plots_and_reports(tracked, tmp_path):
    project, client, runs = tracked
    run_id = runs[1].info.run_id
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert plots == {f"plots/{n}.png" for n in
                     ("precision_recall_curve", "roc_curve", "confusion_matrix",
                      "feature_importances")}
    reports = {a.path for a in client.list_artifacts(run_id, "reports")}
    assert reports == {"reports/raw_validation_report.json", "reports/evaluation_metrics.json"}
    version = client.get_model_version(MODEL, run_id_version(client, run_id))
    uri = f"models:/{MODEL}/{version.version}"
    model = mlflow.models.get_model_info(uri)
    assert "spark" in model.flavors
    inputs = {spec.name for spec in model.signature.inputs}
    assert {"type", "amount", "errorBalanceOrig", "custPriorTxnCount"} <= inputs
    assert [spec.name for spec in model.signature.outputs] == ["prediction"]
    # The logged model is the one the run saved as its fraud_model version, copied.
    saved = project / "data/06_models/fraud_model" / runs[1].data.tags[
        "kedro.output.fraud_model"] / "fraud_model"
    logged = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "logged"))
    assert saved_model_files(saved)
    assert saved_model_files(Path(logged) / "sparkml") == saved_model_files(saved)
    # MLflow's serving check, which the run leaves out (tracking.model_logging): the logged
    # model answers its own serving example as `mlflow models serve` would parse it.
    request, answer = tmp_path / "request.json", tmp_path / "answer.json"
    request.write_text(load_serving_example(uri))
    mlflow.models.predict(uri, input_path=str(request), content_type="json",
                          env_manager="local", output_path=str(answer))
    predictions = json.loads(answer.read_text())["predictions"]
    assert len(predictions) == 5 and set(predictions) <= {0.0, 1.0}


def run_id_version(client: MlflowClient, run_id: str) -> str:
    [version] = client.search_model_versions(f"name = '{MODEL}' and run_id = '{run_id}'")
    return version.version


def test_registry_versions_coordinates_and_aliases(tracked):
    _, client, runs = tracked
    versions_ = [run_id_version(client, run.info.run_id) for run in runs]
    assert versions_ == ["1", "2", "3"]
    for number, run in zip(versions_, runs):
        tags = client.get_model_version(MODEL, number).tags
        assert tags["coordinate"] == f"com.example.fraud:paysim-decision-tree:1.0.{number}"
        assert tags["run_id"] == run.info.run_id
        assert tags["data.model_input_table"] and tags["metric.auprc"]
    decisions = [client.get_run(r.info.run_id).data.tags for r in runs]
    assert [t["registry.decision"] for t in decisions] == ["champion", "champion", "challenger"]
    assert decisions[0]["registry.reason"] == "no champion yet"
    assert "beats champion v1" in decisions[1]["registry.reason"]
    assert "does not beat champion v2" in decisions[2]["registry.reason"]
    aliases = client.get_registered_model(MODEL).aliases
    assert aliases == {"champion": "2", "challenger": "3"}
    promotion = mlflow.artifacts.load_dict(
        f"{client.get_run(runs[2].info.run_id).info.artifact_uri}/registry/promotion.json")
    assert promotion["champion_before"] == "2" and promotion["promoted"] is False
    assert promotion["champion_score"] > promotion["new_score"]


def test_a_champion_evaluated_on_the_same_rows_keeps_its_recorded_score(
    tracked, spark, mlflow_server
):
    project, client, runs = tracked
    tags = [client.get_model_version(MODEL, str(n)).tags for n in (1, 2, 3)]
    # The same data, split and features each time: one fingerprint, so runs 2 and 3 took
    # their champion's score from its registration instead of re-scoring it.
    assert len({t[FINGERPRINT_TAG] for t in tags}) == 1
    decisions = [client.get_run(r.info.run_id).data.tags for r in runs]
    assert "registry.champion_score" not in decisions[0]  # no champion yet
    assert [t["registry.champion_score"] for t in decisions[1:]] == [RECORDED, RECORDED]
    # ... which is what re-scoring version 2 on run 3's test rows gives.
    version = decisions[2]["kedro.input.model_input_table"]
    table = spark.read.parquet(str(project / "data/04_feature/model_input_table.parquet" /
                                   version / "model_input_table.parquet"))
    test_rows = split_train_test(table, train_params())[1]
    assert rows_fingerprint(test_rows) == tags[0][FINGERPRINT_TAG]
    with mlflow_uris(mlflow_server.url):
        rescored = score_version(MODEL, "2", test_rows, "auprc")
    promotion = mlflow.artifacts.load_dict(
        f"{client.get_run(runs[2].info.run_id).info.artifact_uri}/registry/promotion.json")
    assert rescored == float(tags[1]["metric.auprc"]) == promotion["champion_score"]


def test_provenance_of_a_run_and_of_a_model(tracked):
    _, client, runs = tracked
    record = run_provenance(runs[1].info.run_id, client)
    tags = client.get_run(runs[1].info.run_id).data.tags
    assert record["code"]["git.commit"] == tags["git.commit"]
    assert record["parameters"]["train.model.max_depth"] == "6"
    assert record["outputs"]["model_input_table"] == record["outputs"]["fraud_model"]
    assert record["models"][0]["coordinate"].endswith(":1.0.2")
    champion = model_provenance(MODEL, "champion", client)
    assert champion["run_id"] == runs[1].info.run_id and champion["model"]["version"] == "2"


def test_provenance_of_a_data_version(tracked):
    project, client, runs = tracked
    table = project / "data/04_feature/model_input_table.parquet"
    first = versions(table)[0]
    dataset = SparkDatasetV2(filepath=str(table), version=Version(first.name, None))
    found = data_provenance("model_input_table", first.name, client,
                            stored_record(dataset, first.name))
    assert [r["run_id"] for r in found["produced_by"]] == [runs[0].info.run_id]
    assert [r["run_id"] for r in found["used_by"]] == [runs[0].info.run_id]
    assert found["record"]["mlflow_run_id"] == runs[0].info.run_id
    assert found["record"]["status"] == "FINISHED"
    # The record beside the data: written back into the outputs themselves.
    record = json.loads((first / "provenance.json").read_text())
    assert record["inputs"]["transaction_shards"]["version"] == first.name


def test_credentials_never_reach_params_tags_or_logs(tracked, capsys, caplog):
    _, client, runs = tracked
    for run in runs:
        data = client.get_run(run.info.run_id).data
        assert SECRET not in json.dumps(data.params) + json.dumps(data.tags)
    assert SECRET not in capsys.readouterr().out + caplog.text


def test_failing_node_ends_the_run_failed_with_the_error(tracked):
    project, client, _ = tracked
    with pytest.raises(ValueError, match="train.split.method"):
        run_kedro(project, ["train"], params={"train": {"split": {"method": "bogus"}}})
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = 'train'")
    assert run.info.status == "FAILED"
    assert "train.split.method must be 'random' or 'time'" in run.data.tags["error"]


def test_run_failing_while_the_model_is_logged_waits_for_it_and_registers_nothing(tracked):
    """The model is logged in a thread from the fit on; evaluation fails meanwhile."""
    project, client, _ = tracked
    versions_before = len(client.search_model_versions(f"name = '{MODEL}'"))
    with pytest.raises(ValueError, match="only one class"):  # a test set of a few legit rows
        run_kedro(project, ["train"], params={"train": {"split": {"test_fraction": 0.001}}})
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = 'train'",
                               order_by=["attributes.start_time DESC"], max_results=1)
    assert run.info.status == "FAILED" and "only one class" in run.data.tags["error"]
    logged = mlflow.models.get_model_info(f"runs:/{run.info.run_id}/model")
    assert "spark" in logged.flavors  # logging finished before the run was closed
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == versions_before


def test_joining_a_run_that_holds_other_parameter_values_fails_before_any_work(
    tracked, monkeypatch
):
    """MLflow parameters cannot change: keeping the joined run's value would misstate it."""
    project, client, _ = tracked
    experiment = client.create_experiment("tracking-test-joined")
    joined = client.create_run(experiment).info.run_id
    client.log_param(joined, "train.model.max_depth", "3")
    monkeypatch.setenv("MLFLOW_RUN_ID", joined)
    with pytest.raises(ParameterConflictError,
                       match=r"train.model.max_depth = '3' there, '6' here.*new MLflow run"):
        run_kedro(project, ["train"], params=STRONG)
    run = client.get_run(joined)
    assert run.info.status == "FAILED" and "'6' here" in run.data.tags["error"]
    assert run.data.params == {"train.model.max_depth": "3"}  # nothing else logged
    assert not client.search_model_versions(f"run_id = '{joined}'")


def test_unreachable_server_fails_before_any_work(spark, tmp_path):
    project = scratch_project(tmp_path / "down")
    down = mlflow_yml("http://127.0.0.1:9", EXPERIMENT, MODEL)
    (project / "conf/local/mlflow.yml").write_text(down)
    with pytest.raises(TrackingUnavailableError, match=r"http://127.0.0.1:9 is unreachable"):
        run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 100}})
    assert not (project / "data/01_raw/transactions.csv").exists()
