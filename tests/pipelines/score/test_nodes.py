"""Scoring on hand-made rows with exact probabilities, and the whole pipeline through kedro run."""

from __future__ import annotations

import json

import pytest
from kedro.io.core import DatasetError
from mlflow import MlflowClient
from pyspark.sql import functions as F

from fraud_detection.ml.registered_model import RegisteredModel
from fraud_detection.model_scope import unscored_reason
from fraud_detection.parameters import ScoreParams
from fraud_detection.pipelines.data_generation.nodes import generate_transactions
from fraud_detection.pipelines.score.nodes import (
    PREDICTION_COLUMNS,
    check_model_ref,
    score_transactions,
    summarize_scoring,
)
from fraud_detection.pipelines.train.nodes import fit_model
from fraud_detection.provenance import data_provenance, run_provenance
from fraud_detection.schema import RAW_COLUMNS
from tests.kedro_project import run_kedro, scratch_project, versions
from tests.pipelines.score.counting_dataset import CountingCsvDataset
from tests.registry import (
    fit_small_model,
    input_example,
    mlflow_uris,
    register_version,
    train_params,
)

# A one-split tree on 'amount' only (two distinct values), unweighted: its leaves hold
# 1 fraud in 4 rows (amount 1.0) and 3 in 4 (amount 10.0), so the probabilities are exact.
TREE_PARAMS = train_params(
    categorical_features=["type"],
    numeric_features=["amount"],
    class_weight=1,
    model={"max_depth": 1, "max_bins": 32, "min_instances_per_node": 1,
           "min_info_gain": 0.0, "impurity": "gini", "seed": 1},
)
TRAIN_LABELS = {1.0: [0, 0, 0, 1], 10.0: [0, 1, 1, 1]}

RAW_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS.items())
BATCH = [
    (1, "TRANSFER", 1.0, "C1", 5.0, 4.0, "C9", 0.0, 1.0, 0, 0),
    (2, "CASH_OUT", 10.0, "C2", 10.0, 0.0, "C8", 0.0, 0.0, 1, 0),
]


@pytest.fixture(scope="module")
def model(spark):
    rows = [("TRANSFER", amount, label) for amount, labels in TRAIN_LABELS.items()
            for label in labels]
    train = spark.createDataFrame(rows, "type string, amount double, label int")
    return fit_model(train, TREE_PARAMS)


@pytest.fixture(scope="module")
def batch(spark):
    # Extra columns (here a feature) may be present: only the PaySim columns are kept.
    return spark.createDataFrame(BATCH, RAW_SCHEMA).withColumn("emptiesOrigin", F.lit(0))


def registered(model, **changes) -> RegisteredModel:
    facts = {"model": model, "name": "fraud-detector", "version": 7, "alias": "champion",
             "coordinate": "com.example.fraud:paysim-decision-tree:1.0.7", "run_id": "abc123",
             "source_uri": "models:/fraud-detector/7", "threshold": None}
    return RegisteredModel(**{**facts, **changes})


def score_params(**values) -> ScoreParams:
    """``params:score`` as conf/base gives it, with ``values`` instead."""
    return ScoreParams.model_validate({"model_ref": "champion", "threshold": None, **values})


def scored(batch, model, params=None, **changes) -> list[dict]:
    result = score_transactions(batch, registered(model, **changes), params or score_params())
    return [row.asDict() for row in result.orderBy("nameOrig").collect()]


def test_columns_values_and_stamps_are_exact(spark, batch, model):
    result = score_transactions(batch, registered(model), score_params())
    assert result.columns == [*RAW_COLUMNS, *PREDICTION_COLUMNS]
    types = dict(result.dtypes)
    assert [types[c] for c in PREDICTION_COLUMNS] == [
        "double", "int", "string", "string", "int", "string"]
    rows = [r.asDict() for r in result.orderBy("nameOrig").collect()]
    assert [tuple(r[c] for c in RAW_COLUMNS) for r in rows] == BATCH
    assert [r["fraud_probability"] for r in rows] == [0.25, 0.75]
    assert [r["predicted_fraud"] for r in rows] == [0, 1]  # no threshold recorded: 0.5
    assert [r["unscored_reason"] for r in rows] == [None, None]  # no scope recorded: all
    assert {(r["model_coordinate"], r["model_version"], r["model_run_id"]) for r in rows} == {
        ("com.example.fraud:paysim-decision-tree:1.0.7", 7, "abc123")
    }
    again = [r.asDict() for r in score_transactions(batch, registered(model), score_params())
             .orderBy("nameOrig").collect()]
    assert again == rows  # deterministic: no timestamp, same rows


@pytest.mark.parametrize(
    ("configured", "recorded", "expected"),
    [
        (0.2, None, [1, 1]),     # score.threshold
        (None, 0.8, [0, 0]),     # the version's recorded threshold
        (0.2, 0.8, [1, 1]),      # score.threshold wins over the recorded one
        (0.75, None, [0, 1]),    # at the threshold counts as fraud
        (1.0, None, [0, 0]),
    ],
)
def test_threshold_comes_from_params_then_the_model_then_0_5(batch, model, configured,
                                                              recorded, expected):
    rows = scored(batch, model, score_params(threshold=configured), threshold=recorded)
    assert [r["predicted_fraud"] for r in rows] == expected
    assert [r["fraud_probability"] for r in rows] == [0.25, 0.75]


@pytest.mark.parametrize("bad", [1.5, -0.1])
def test_a_recorded_threshold_that_is_no_probability_is_refused(batch, model, bad):
    """score.threshold itself is checked before the run (tests/test_parameters.py)."""
    with pytest.raises(ValueError, match=r"recorded with model version 7 must be a probabil.*"
                                         r"set score.threshold"):
        score_transactions(batch, registered(model, threshold=bad), score_params())


def test_model_coordinate_is_null_when_the_version_has_none(batch, model):
    rows = scored(batch, model, coordinate=None)
    assert [r["model_coordinate"] for r in rows] == [None, None]
    assert [r["model_version"] for r in rows] == [7, 7]


def test_a_missing_column_the_model_needs_is_named_with_the_version(batch, model):
    with pytest.raises(ValueError, match=r"'amount' missing.*fraud-detector version 7"):
        score_transactions(batch.drop("amount"), registered(model), score_params())
    with pytest.raises(ValueError, match=r"'type', 'nameDest' missing"):
        score_transactions(batch.drop("type", "nameDest"), registered(model), score_params())


def test_model_ref_parameter_must_match_the_loaded_model(model):
    check_model_ref(registered(model), score_params(model_ref="champion"))
    check_model_ref(registered(model, alias=None), score_params(model_ref=7))
    check_model_ref(registered(model, alias=None), score_params(model_ref="7"))
    with pytest.raises(ValueError, match=r"score.model_ref is 'challenger'.*--params"):
        check_model_ref(registered(model), score_params(model_ref="challenger"))
    with pytest.raises(ValueError, match="score.model_ref is 3"):
        check_model_ref(registered(model, alias=None), score_params(model_ref=3))


# Every transaction type, in no particular order, for a model trained on TRANSFER and CASH_OUT:
# (nameOrig, type, amount); the other PaySim columns are the same for every row.
MIXED = [("C5", "PAYMENT", 10.0), ("C1", "TRANSFER", 1.0), ("C4", "CASH_IN", 1.0),
         ("C2", "CASH_OUT", 10.0), ("C3", "DEBIT", 10.0), ("C6", "PAYMENT", 1.0)]
TWO_TYPES = ("CASH_OUT", "TRANSFER")


@pytest.fixture(scope="module")
def mixed(spark):
    rows = [(1, kind, amount, name, 5.0, 4.0, "M9", 0.0, 0.0, 0, 0)
            for name, kind, amount in MIXED]
    return spark.createDataFrame(rows, RAW_SCHEMA)


def test_rows_out_of_the_models_scope_keep_their_place_without_a_score(mixed, model):
    result = score_transactions(mixed, registered(model, transaction_types=TWO_TYPES,
                                                  scope_source="version tag"), score_params())
    rows = [r.asDict() for r in result.collect()]  # in the batch's order: nothing sorted
    assert [(r["nameOrig"], r["type"], r["fraud_probability"], r["predicted_fraud"],
             r["unscored_reason"]) for r in rows] == [
        ("C5", "PAYMENT", None, None, "out_of_scope: PAYMENT"),
        ("C1", "TRANSFER", 0.25, 0, None),
        ("C4", "CASH_IN", None, None, "out_of_scope: CASH_IN"),
        ("C2", "CASH_OUT", 0.75, 1, None),
        ("C3", "DEBIT", None, None, "out_of_scope: DEBIT"),
        ("C6", "PAYMENT", None, None, "out_of_scope: PAYMENT"),
    ]
    assert [tuple(r[c] for c in RAW_COLUMNS) for r in rows] == [
        tuple(r) for r in mixed.collect()]  # every row, unchanged
    assert {r["model_version"] for r in rows} == {7}  # out-of-scope rows name the model too
    # The same rule as the foundations' (which online scoring applies to one row).
    assert [r["unscored_reason"] for r in rows] == [
        unscored_reason(r["type"], TWO_TYPES) for r in rows]
    assert summarize_scoring(result) == {
        "rows": 6, "scored": 2, "out_of_scope": 4,
        "out_of_scope_by_type": {"CASH_IN": 1, "CASH_OUT": 0, "DEBIT": 1, "PAYMENT": 2,
                                 "TRANSFER": 0},
    }


def test_a_version_of_unknown_scope_scores_every_row_and_says_so(mixed, model, caplog):
    caplog.set_level("WARNING", logger="fraud_detection.pipelines.score.nodes")
    result = score_transactions(mixed, registered(model), score_params())
    assert result.where("fraud_probability IS NULL OR unscored_reason IS NOT NULL").isEmpty()
    assert "its scope is unknown, so every row is scored" in caplog.text
    assert "Set the version's tag 'transaction_types'" in caplog.text
    assert summarize_scoring(result)["out_of_scope"] == 0


def test_an_unlabeled_batch_is_scored_with_a_null_label(mixed, model):
    unlabeled = mixed.drop("isFraud")
    result = score_transactions(unlabeled, registered(model, transaction_types=TWO_TYPES),
                                score_params())
    assert result.columns == [*RAW_COLUMNS, *PREDICTION_COLUMNS]
    assert dict(result.dtypes)["isFraud"] == "int"
    assert [(r["isFraud"], r["fraud_probability"]) for r in result.collect()][:2] == [
        (None, None), (None, 0.25)]


# --- the whole pipeline through `kedro run --pipelines score` -------------------------------

N_ROWS = 1500
MODEL_NAME = "score-pipeline-test"  # not the default name: the hook's tests own that one


@pytest.fixture(scope="module")
def scoring_project(spark, mlflow_server, tmp_path_factory):
    """A scratch project with a batch to score and two registered versions of one model."""
    project = scratch_project(tmp_path_factory.mktemp("score"))
    batch = generate_transactions({"n_rows": N_ROWS, "seed": 11, "fraud_rate": 0.02})
    batch.to_csv(project / "data/01_raw/transactions.csv", index=False)
    (project / "conf/local/catalog.yml").write_text(
        "scoring_model:\n"
        "  type: fraud_detection.datasets.mlflow_model.MlflowModelDataset\n"
        f"  model_name: {MODEL_NAME}\n"
        "  model_ref: ${runtime_params:score.model_ref, champion}\n"
        # The batch as conf/base reads it, its loads counted.
        "scoring_transactions@spark:\n"
        "  type: tests.pipelines.score.counting_dataset.CountingCsvDataset\n"
        "  filepath: data/01_raw\n"
        "  pattern: '*.csv'\n"
    )
    model, table = fit_small_model(spark)
    example = input_example(model, table)
    # The challenger records no scope (registered before scopes were): its type indexer's
    # values are its scope. The champion records TRANSFER and CASH_OUT, as training does.
    first = register_version(mlflow_server.url, MODEL_NAME, model, example,
                             aliases=("challenger",))
    second = register_version(mlflow_server.url, MODEL_NAME, model, example,
                              aliases=("champion",), threshold=0.42,
                              transaction_types=("TRANSFER", "CASH_OUT"))
    return project, model, {"challenger": first, "champion": second}


def _run_score(project, url, params=None):
    CountingCsvDataset.loads.clear()
    with mlflow_uris(url):  # MLFLOW_TRACKING_URI and MLflow's URIs, as the hook leaves them
        run_kedro(project, ["score"], params=params)
    folder = project / "data/07_model_output/scored_transactions.parquet"
    return versions(folder)[-1] / folder.name


@pytest.mark.integration
def test_kedro_run_scores_every_row_with_the_champion(spark, mlflow_server, scoring_project):
    project, _model, version = scoring_project
    output = spark.read.parquet(str(_run_score(project, mlflow_server.url)))
    [batch] = CountingCsvDataset.loads  # the batch, read once
    assert batch.endswith("/data/01_raw")
    assert output.columns == [*RAW_COLUMNS, *PREDICTION_COLUMNS]
    assert output.count() == N_ROWS
    # Rows of the types the champion was not trained on: no score, a reason; all counted.
    by_type = {r["type"]: r.asDict() for r in output.groupBy("type").agg(
        F.count("*").alias("rows"), F.count("fraud_probability").alias("scored"),
        F.count("predicted_fraud").alias("decided"),
        F.collect_set("unscored_reason").alias("reasons")).collect()}
    assert set(by_type) == {"CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER"}
    for kind, row in by_type.items():
        scored = kind in ("CASH_OUT", "TRANSFER")
        assert row["scored"] == row["decided"] == (row["rows"] if scored else 0)
        assert row["reasons"] == ([] if scored else [f"out_of_scope: {kind}"])
    reports = project / "data/08_reporting/scoring_report.json"
    [report_file] = reports.glob("*/scoring_report.json")
    report = json.loads(report_file.read_text())
    out = {kind: row["rows"] for kind, row in by_type.items()
           if kind not in ("CASH_OUT", "TRANSFER")}
    assert report == {
        "rows": N_ROWS, "scored": N_ROWS - sum(out.values()), "out_of_scope": sum(out.values()),
        "out_of_scope_by_type": {"CASH_IN": out["CASH_IN"], "CASH_OUT": 0, "DEBIT": out["DEBIT"],
                                 "PAYMENT": out["PAYMENT"], "TRANSFER": 0},
    }
    # The run's metrics count them too.
    client = MlflowClient(mlflow_server.url)
    metrics = _last_score_run(client).data.metrics
    assert (metrics["scored"], metrics["out_of_scope"]) == (
        report["scored"], report["out_of_scope"])
    assert metrics["out_of_scope_by_type.PAYMENT"] == out["PAYMENT"]
    stamps = output.select("model_coordinate", "model_version", "model_run_id").distinct()
    [(coordinate, number, run_id)] = stamps.collect()
    assert number == version["champion"]
    assert coordinate == f"com.example.fraud:paysim-decision-tree:1.0.{number}"
    assert len(run_id) == 32
    # The threshold recorded with the champion (its run's metric) decides.
    decided = output.where(
        (F.col("predicted_fraud") == 1) != (F.col("fraud_probability") >= 0.42)
    )
    assert decided.count() == 0
    assert output.where("fraud_probability < 0 OR fraud_probability > 1").count() == 0
    frauds = output.where("isFraud = 1")
    assert frauds.count() > 0
    assert frauds.agg(F.avg("predicted_fraud")).first()[0] > 0.5  # it is a working model
    report = sorted((project / "data/08_reporting/scoring_validation.json").iterdir())
    assert len(report) == 1


@pytest.mark.integration
def test_kedro_run_scores_with_a_version_given_at_run_time(spark, mlflow_server,
                                                           scoring_project):
    project, _, version = scoring_project
    path = _run_score(project, mlflow_server.url,
                      params={"score": {"model_ref": version["challenger"]}})
    output = spark.read.parquet(str(path))
    assert {r[0] for r in output.select("model_version").distinct().collect()} == {
        version["challenger"]
    }
    assert output.count() == N_ROWS
    # The run's provenance names the model version it loaded, as the scores' record does;
    # and the model version leads back to the run that scored with it.
    # Its scope comes from its type indexer: the same types as the champion's recorded one.
    assert {r[0] for r in output.where("unscored_reason IS NOT NULL")
            .select("unscored_reason").distinct().collect()} == {
        "out_of_scope: CASH_IN", "out_of_scope: DEBIT", "out_of_scope: PAYMENT"}
    client = MlflowClient(mlflow_server.url)
    run = _last_score_run(client)
    assert run_provenance(run.info.run_id, client)["inputs"]["scoring_model"] == str(
        version["challenger"])
    record = json.loads((path.parent / "provenance.json").read_text())
    assert record["inputs"]["scoring_model"]["uri"] == (
        f"models:/{MODEL_NAME}/{version['challenger']}")
    used = data_provenance("scoring_model", str(version["challenger"]), client)["used_by"]
    assert run.info.run_id in [r["run_id"] for r in used]


def _last_score_run(client: MlflowClient):
    experiment = client.get_experiment_by_name("fraud-detection")
    [run] = client.search_runs([experiment.experiment_id], "tags.`kedro.pipelines` = 'score'",
                               order_by=["attributes.start_time DESC"], max_results=1)
    return run


def _score_runs(client: MlflowClient) -> int:
    experiment = client.get_experiment_by_name("fraud-detection")
    return len(client.search_runs([experiment.experiment_id])) if experiment else 0


def _files(project) -> set[str]:
    return {str(f.relative_to(project)) for f in (project / "data").rglob("*")}


@pytest.mark.integration
@pytest.mark.parametrize(("ref", "what"), [("stable", "alias 'stable'"), (99, "version 99")])
def test_an_unknown_alias_or_version_fails_before_the_batch_is_read(mlflow_server,
                                                                    scoring_project, ref, what):
    project, _, version = scoring_project
    client = MlflowClient(mlflow_server.url)
    files, runs = _files(project), _score_runs(client)
    with pytest.raises(DatasetError) as error:
        _run_score(project, mlflow_server.url, params={"score": {"model_ref": ref}})
    assert str(error.value) == (
        f"scoring_model: MLflow registry {mlflow_server.url}: model '{MODEL_NAME}' has no "
        f"{what}; aliases: challenger -> {version['challenger']}, champion -> "
        f"{version['champion']}; versions: 1, 2. Set score.model_ref to one of them "
        "(kedro run --params score.model_ref=...)"
    )
    assert CountingCsvDataset.loads == []  # the batch was never read
    assert _files(project) == files  # nothing written: no quarantine, report or scores
    assert _score_runs(client) == runs  # and no MLflow run opened
