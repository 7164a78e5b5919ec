"""Split, class weights, fitting and evaluation metrics on small hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import StringIndexer
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from fraud_detection.parameters import TrainParams
from fraud_detection.pipelines.train.evaluation import (
    best_f1_threshold,
    evaluate_model,
    fraud_probabilities,
    ranking_metrics,
    threshold_metrics,
    training_probabilities,
)
from fraud_detection.pipelines.train.nodes import (
    build_estimator,
    class_weights,
    fit_model,
    fitted_indexer,
    split_train_test,
    training_counts,
)

SETTINGS = {
    "transaction_types": ["TRANSFER", "CASH_OUT"],
    "split": {"method": "random", "test_fraction": 0.3, "seed": 42},
    "categorical_features": ["type"],
    "numeric_features": ["amount", "emptiesOrigin"],
    "class_weight": "balanced",
    "model": {"max_depth": 3, "max_bins": 16, "min_instances_per_node": 1,
              "min_info_gain": 0.0, "impurity": "gini", "seed": 7},
    "release": {"group": "com.example.fraud", "artifact": "test", "major_minor": "1.0"},
}
PARAMS = TrainParams.model_validate(SETTINGS)


def split_by(**split) -> TrainParams:
    return TrainParams.model_validate({**SETTINGS, "split": split})


@pytest.fixture(scope="module")
def model_input(spark):
    """400 rows over 40 steps; fraud (every 20th row) is exactly 'emptiesOrigin'.

    Fraud rows are TRANSFER or CASH_OUT.
    """
    rows = []
    for i in range(400):
        kind = ["TRANSFER", "CASH_OUT", "PAYMENT", "CASH_IN"][i % 4]
        fraud = int(kind != "PAYMENT" and kind != "CASH_IN" and i % 10 == 0)
        rows.append((i % 40 + 1, kind, float(100 + i), f"C{i}", f"C{i + 1000}", fraud, fraud))
    return spark.createDataFrame(
        rows, "step int, type string, amount double, nameOrig string, nameDest string, "
              "emptiesOrigin int, label int")


def test_random_split_is_deterministic_disjoint_and_keeps_fraud_types(model_input):
    train, test = split_train_test(model_input, PARAMS)
    # amount is unique per row here: it identifies the transaction.
    train_ids = {r["amount"] for r in train.collect()}
    test_ids = {r["amount"] for r in test.collect()}
    again = {r["amount"] for r in split_train_test(model_input, PARAMS)[1].collect()}
    assert test_ids == again
    assert not train_ids & test_ids
    assert len(train_ids) + len(test_ids) == 200  # only TRANSFER and CASH_OUT rows
    assert 0.2 < len(test_ids) / 200 < 0.4
    other_seed = split_by(**{**SETTINGS["split"], "seed": 1})
    assert {r["amount"] for r in split_train_test(model_input, other_seed)[1].collect()} != test_ids
    assert "nameOrig" not in train.columns and "isTest" not in test.columns


def test_time_split_puts_the_latest_steps_in_test(model_input):
    train, test = split_train_test(model_input, split_by(method="time", test_fraction=0.25, seed=0))
    # TRANSFER/CASH_OUT rows sit on 20 steps (1, 2, 5, 6, ... 37, 38), 10 rows each.
    assert train.agg({"step": "max"}).first()[0] == 29
    assert test.agg({"step": "min"}).first()[0] == 30
    assert (train.count(), test.count()) == (150, 50)


def test_class_weights(model_input):
    # 20 frauds (i = 0, 20, 40, ...) among 400 rows.
    labels, _ = training_counts(model_input, [])
    assert labels == {0: 380, 1: 20}
    assert class_weights(labels, "balanced") == (1.0, 380 / 20)
    assert class_weights(labels, 5) == (1.0, 5.0)
    with pytest.raises(ValueError, match="needs both classes"):
        class_weights({0: 380}, "balanced")


def test_the_indexer_built_from_counts_is_the_fitted_one(spark):
    # Ties ('b', 'c' and 1, 2 twice each) are ordered alphabetically; nulls are not values.
    rows = spark.createDataFrame(
        [(0, "a", 1), (1, "a", 1), (0, "c", 2), (0, "b", None), (1, "b", 2), (0, "c", 1),
         (0, None, 3), (1, "a", 3)],
        "label int, kind string, code int")
    indexer = StringIndexer(inputCols=["kind", "code"], outputCols=["kindIndex", "codeIndex"],
                            handleInvalid="keep")
    labels, frequencies = training_counts(rows, ["kind", "code"])
    assert labels == {0: 5, 1: 3}
    built, fitted = fitted_indexer(indexer, frequencies), indexer.fit(rows)
    assert built.labelsArray == fitted.labelsArray == [["a", "b", "c"], ["1", "2", "3"]]
    assert built.getHandleInvalid() == "keep"
    assert built.transform(rows).collect() == fitted.transform(rows).collect()


def test_fit_and_evaluate_a_separable_problem(model_input):
    train, test = split_train_test(model_input, PARAMS)
    model = fit_model(train, PARAMS)
    metrics, scores = evaluate_model(model, train, test, PARAMS)
    assert list(scores.columns) == ["label", "probability", "count"]
    assert scores["count"].sum() == metrics["test_rows"]
    assert metrics["auprc"] == 1.0 and metrics["auroc"] == 1.0
    assert metrics["precision"] == metrics["recall"] == metrics["f1"] == 1.0
    cm = metrics["confusion_matrix"]
    assert cm["fp"] == cm["fn"] == 0 and cm["tp"] == metrics["test_frauds"] > 0
    assert metrics["test_rows"] + metrics["train_rows"] == 200
    assert metrics["baseline_auprc"] == pytest.approx(metrics["test_frauds"] / metrics["test_rows"])
    assert set(metrics["feature_importances"]) == {"amount", "emptiesOrigin", "typeIndex"}
    assert metrics["feature_importances"]["emptiesOrigin"] == 1.0


@pytest.fixture(scope="module")
def noisy_input(spark):
    """600 TRANSFER/CASH_OUT rows whose label the features only partly tell: leaves with
    both classes in them."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(600):
        empties, amount = int(rng.random() < 0.3), float(rng.integers(0, 50) * 10)
        fraud = int(rng.random() < (0.6 if empties else 0.01) + amount / 2000)
        rows.append((i % 40 + 1, ["TRANSFER", "CASH_OUT"][i % 2], amount, f"C{i}", f"D{i}",
                     empties, fraud))
    return spark.createDataFrame(
        rows, "step int, type string, amount double, nameOrig string, nameDest string, "
              "emptiesOrigin int, label int")


@pytest.mark.parametrize("class_weight", ["balanced", 3.5])
def test_training_probabilities_read_from_the_tree_equal_scoring(noisy_input, class_weight):
    params = TrainParams.model_validate({**SETTINGS, "class_weight": class_weight,
                                         "model": {**SETTINGS["model"], "max_depth": 5}})
    train, _ = split_train_test(noisy_input, params)
    model = fit_model(train, params)
    from_leaves = training_probabilities(model, train)
    assert model.stages[-1].numNodes > 7 and len(from_leaves) > 8
    assert set(from_leaves["label"]) == {0, 1}
    pd.testing.assert_frame_equal(from_leaves, fraud_probabilities(model, train))


def test_training_probabilities_of_a_saved_and_loaded_tree(noisy_input, tmp_path):
    train, _ = split_train_test(noisy_input, PARAMS)
    fit_model(train, PARAMS).save(str(tmp_path / "model"))
    loaded = PipelineModel.load(str(tmp_path / "model"))
    pd.testing.assert_frame_equal(training_probabilities(loaded, train),
                                  fraud_probabilities(loaded, train))


def test_training_probabilities_of_another_model_score_the_rows(noisy_input):
    train, _ = split_train_test(noisy_input, PARAMS)
    preparation = Pipeline(stages=build_estimator(PARAMS).getStages()[:-1]).fit(train)
    features = preparation.transform(train)
    model = PipelineModel([*preparation.stages, LogisticRegression(maxIter=5).fit(features)])
    pd.testing.assert_frame_equal(training_probabilities(model, train),
                                  fraud_probabilities(model, train))


def test_ranking_metrics_exact():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    metrics = ranking_metrics(labels, scores, np.ones(4))
    assert metrics["auprc"] == pytest.approx(5 / 6)
    assert metrics["auroc"] == 0.75
    assert metrics["baseline_auprc"] == 0.5
    with pytest.raises(ValueError, match="only one class"):
        ranking_metrics(np.array([0, 0]), np.array([0.1, 0.2]), np.array([3, 1]))


def test_threshold_is_best_f1_and_metrics_are_exact():
    labels, scores = np.array([0, 0, 1, 1, 0]), np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    assert best_f1_threshold(labels, scores, np.ones(5)) == 0.35
    metrics = threshold_metrics(labels, scores, np.ones(5), 0.35)
    assert metrics["confusion_matrix"] == {"tn": 1, "fp": 2, "fn": 0, "tp": 2}
    assert (metrics["precision"], metrics["recall"]) == (0.5, 1.0)
    assert metrics["f1"] == pytest.approx(2 / 3)


def test_metrics_from_counts_equal_the_row_by_row_metrics():
    """Scores counted by (label, probability) give exactly the metrics of every row."""
    rng = np.random.default_rng(7)
    probabilities = rng.choice([0.0, 0.02, 0.3, 0.31, 0.9, 1.0], size=5000)
    labels = (rng.random(5000) < probabilities).astype(int)
    rows = pd.DataFrame({"label": labels, "probability": probabilities})
    counted = rows.groupby(["label", "probability"]).size().rename("count").reset_index()
    arrays = (counted["label"].to_numpy(), counted["probability"].to_numpy(),
              counted["count"].to_numpy())
    assert ranking_metrics(*arrays) == pytest.approx({
        "auprc": average_precision_score(labels, probabilities),
        "auroc": roc_auc_score(labels, probabilities),
        "baseline_auprc": labels.mean()}, rel=1e-12)
    threshold = best_f1_threshold(*arrays)
    precision, recall, thresholds = precision_recall_curve(labels, probabilities)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-300)
    assert threshold == thresholds[np.argmax(f1[:-1])]
    predicted = probabilities >= threshold
    assert threshold_metrics(*arrays, threshold)["confusion_matrix"] == {
        "tn": int(np.sum(~predicted & (labels == 0))), "fp": int(np.sum(predicted & (labels == 0))),
        "fn": int(np.sum(~predicted & (labels == 1))), "tp": int(np.sum(predicted & (labels == 1)))}
