"""Honest evaluation from probabilities on held-out rows.

AUPRC (average precision) and AUROC are computed from the fraud probability, never from
hard labels. The decision threshold is chosen on the *training* predictions (best F1), then
applied unchanged to the test set, so the reported precision and recall are not tuned on
the data they are measured on.

The scoring itself (:mod:`fraud_detection.ml.scoring`) is shared with the champion
comparison. A decision tree gives at most one distinct probability per leaf, so the scores
are counted in Spark by (label, probability) and every metric is computed from the counts as
sample weights (rows with equal scores are one threshold either way). The training rows'
counts need no scoring at all: the tree recorded them in its leaves while it was fitted
(:func:`training_probabilities`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.ml.classification import DecisionTreeClassificationModel
from pyspark.sql import DataFrame
from sklearn.metrics import precision_recall_curve

from fraud_detection.ml.scoring import (
    as_arrays,
    fraud_probabilities,
    ranking_metrics,
    rows_fingerprint,
)
from fraud_detection.parameters import TrainParams

from .nodes import LEGIT_WEIGHT, feature_names


def training_probabilities(model: PipelineModel, train: DataFrame) -> pd.DataFrame:
    """:func:`fraud_probabilities` of the rows ``model`` was fitted on, ``train``.

    A fitted decision tree keeps in every leaf how many training rows reached it and their
    label counts, weighted as ``fit_model`` weighted them (a legitimate row weighs
    ``LEGIT_WEIGHT``). Spark scores a row with its leaf's fraud weight over the leaf's total
    weight, so the training rows' (label, probability, count) table is read from the leaves,
    with the same arithmetic, instead of scoring millions of rows again: the same table (a
    test compares both). Another kind of model, or a tree saved without its leaves' row
    counts (by Spark before 3.0), scores ``train``.
    """
    tree = model.stages[-1]
    leaves = (_leaves(tree._java_obj.rootNode())
              if isinstance(tree, DecisionTreeClassificationModel) else [])
    if not leaves or any(rows < 0 for _, rows in leaves):
        return fraud_probabilities(model, train)
    counts: dict[tuple[int, float], int] = {}
    for (legit_weight, fraud_weight), rows in leaves:
        probability = fraud_weight / (legit_weight + fraud_weight)
        legit = round(legit_weight / LEGIT_WEIGHT)
        for label, count in ((0, legit), (1, rows - legit)):
            if count:
                counts[label, probability] = counts.get((label, probability), 0) + count
    table = pd.DataFrame(
        [(label, probability, count) for (label, probability), count in counts.items()],
        columns=["label", "probability", "count"],
    ).astype({"label": "int32", "probability": "float64", "count": "int64"})
    return table.sort_values(["probability", "label"], ignore_index=True)


def _leaves(root) -> list[tuple[list[float], int]]:
    """(weighted label counts, number of training rows) of every leaf of a JVM tree."""
    leaves, nodes = [], [root]
    while nodes:
        node = nodes.pop()
        if node.getClass().getSimpleName() == "InternalNode":
            nodes += [node.leftChild(), node.rightChild()]
        else:
            stats = node.impurityStats()
            leaves.append((list(stats.stats()), stats.rawCount()))
    return leaves


def best_f1_threshold(labels: np.ndarray, scores: np.ndarray, counts: np.ndarray) -> float:
    """The probability threshold with the highest F1 on these labels."""
    precision, recall, thresholds = precision_recall_curve(labels, scores, sample_weight=counts)
    f1 = np.divide(
        2 * precision * recall, precision + recall,
        out=np.zeros_like(precision), where=(precision + recall) > 0,
    )[:-1]
    return float(thresholds[int(np.argmax(f1))]) if len(thresholds) else 0.5


def threshold_metrics(
    labels: np.ndarray, scores: np.ndarray, counts: np.ndarray, threshold: float
) -> dict[str, Any]:
    """Precision, recall, F1 and the confusion matrix of ``score >= threshold``."""
    predicted = scores >= threshold
    tp = int(np.sum(counts[predicted & (labels == 1)]))
    fp = int(np.sum(counts[predicted & (labels == 0)]))
    fn = int(np.sum(counts[~predicted & (labels == 1)]))
    tn = int(np.sum(counts[~predicted & (labels == 0)]))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def evaluate_model(
    model: PipelineModel, train: DataFrame, test: DataFrame, params: TrainParams
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Metrics of the model on the test rows, threshold chosen on the training rows.

    ``test_rows_fingerprint`` identifies the test rows and the scoring code (hashed in the
    pass that scores them). Also returns the test rows' score counts (``label``,
    ``probability``, ``count``), for the evaluation plots.
    """
    train_labels, train_scores, train_counts = as_arrays(training_probabilities(model, train))
    test_scores = fraud_probabilities(model, test, fingerprinted=True)
    labels, scores, counts = as_arrays(test_scores)
    threshold = best_f1_threshold(train_labels, train_scores, train_counts)
    importances = model.stages[-1].featureImportances.toArray()
    metrics = {
        **ranking_metrics(labels, scores, counts),
        "threshold": threshold,
        **threshold_metrics(labels, scores, counts, threshold),
        "train_rows": int(train_counts.sum()),
        "train_frauds": int(train_counts[train_labels == 1].sum()),
        "test_rows": int(counts.sum()),
        "test_frauds": int(counts[labels == 1].sum()),
        "split_method": params.split.method,
        "test_rows_fingerprint": rows_fingerprint(test, test_scores),
        "feature_importances": dict(zip(feature_names(model), map(float, importances))),
    }
    return metrics, test_scores.drop(columns="row_hashes")
