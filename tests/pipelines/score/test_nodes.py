"""Scoring on hand-made rows with exact probabilities, and the whole pipeline through kedro run."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from fraud_detection.datasets.mlflow_model import RegisteredModel
from fraud_detection.parameters import ScoreParams
from fraud_detection.pipelines.data_generation.nodes import generate_transactions
from fraud_detection.pipelines.score.nodes import (
    PREDICTION_COLUMNS,
    check_model_ref,
    score_transactions,
)
from fraud_detection.pipelines.train.nodes import fit_model
from fraud_detection.provenance import data_provenance, run_provenance
from fraud_detection.schema import RAW_COLUMNS
from tests.kedro_project import run_kedro, scratch_project, versions
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
    assert [types[c] for c in PREDICTION_COLUMNS] == ["double", "int", "string", "int", "string"]
    rows = [r.asDict() for r in result.orderBy("nameOrig").collect()]
    assert [tuple(r[c] for c in RAW_COLUMNS) for r in rows] == BATCH
    assert [r["fraud_probability"] for r in rows] == [0.25, 0.75]
    assert [r["predicted_fraud"] for r in rows] == [0, 1]  # no threshold recorded: 0.5
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
    )
    model, table = fit_small_model(spark)
    example = input_example(model, table)
    first = register_version(mlflow_server.url, MODEL_NAME, model, example,
                             aliases=("challenger",))
    second = register_version(mlflow_server.url, MODEL_NAME, model, example,
                              aliases=("champion",), threshold=0.42)
    return project, model, {"challenger": first, "champion": second}


def _run_score(project, url, params=None):
    with mlflow_uris(url):  # MLFLOW_TRACKING_URI and MLflow's URIs, as the hook leaves them
        run_kedro(project, ["score"], params=params)
    folder = project / "data/07_model_output/scored_transactions.parquet"
    return versions(folder)[-1] / folder.name


@pytest.mark.integration
def test_kedro_run_scores_every_row_with_the_champion(spark, mlflow_server, scoring_project):
    project, _model, version = scoring_project
    output = spark.read.parquet(str(_run_score(project, mlflow_server.url)))
    assert output.columns == [*RAW_COLUMNS, *PREDICTION_COLUMNS]
    assert output.count() == N_ROWS
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
    client = MlflowClient(mlflow_server.url)
    [run] = client.search_runs(
        [client.get_experiment_by_name("fraud-detection").experiment_id],
        "tags.`kedro.pipelines` = 'score'", order_by=["attributes.start_time DESC"],
        max_results=1)
    assert run_provenance(run.info.run_id, client)["inputs"]["scoring_model"] == str(
        version["challenger"])
    record = json.loads((path.parent / "provenance.json").read_text())
    assert record["inputs"]["scoring_model"]["uri"] == (
        f"models:/{MODEL_NAME}/{version['challenger']}")
    used = data_provenance("scoring_model", str(version["challenger"]), client)["used_by"]
    assert run.info.run_id in [r["run_id"] for r in used]
