"""A model's fraud probabilities on labelled rows and the ranking metrics computed from them.

Training's evaluation (``pipelines/train/evaluation.py``) and the champion comparison
(``tracking/champion.py``) must score a model exactly alike, or a champion's recorded score
could not stand in for a re-scored one: both use these functions, which live below both.

The scores are counted in Spark by (label, probability) and only those counts reach the
driver: every metric is computed from the counts as sample weights, which gives exactly the
values of the row-by-row computation without collecting millions of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sklearn.metrics import average_precision_score, roc_auc_score

from fraud_detection.ml.fingerprint import fingerprint, row_hash

_ROW_HASH = "rowHash"


def fraud_probabilities(
    model: PipelineModel, rows: DataFrame, fingerprinted: bool = False
) -> pd.DataFrame:
    """``label``, ``probability`` (of fraud) and ``count``: how many rows have both; with
    ``fingerprinted``, also ``row_hashes``: the sum of those rows' :func:`row_hash`."""
    hashes = {_ROW_HASH: row_hash(rows)} if fingerprinted else {}
    scored = model.transform(rows.withColumns(hashes)).select(
        F.col("label").cast("int").alias("label"),
        vector_to_array("probability")[1].alias("probability"),
        *hashes,
    )
    counts = scored.groupBy("label", "probability").agg(
        F.count(F.lit(1)).alias("count"), *(F.sum(name).alias("row_hashes") for name in hashes)
    ).toPandas()
    return counts.sort_values(["probability", "label"], ignore_index=True)


def as_arrays(scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(labels, probabilities, counts)`` of :func:`fraud_probabilities`' table."""
    return (scores["label"].to_numpy(), scores["probability"].to_numpy(),
            scores["count"].to_numpy())


def ranking_metrics(
    labels: np.ndarray, probabilities: np.ndarray, counts: np.ndarray
) -> dict[str, float]:
    """AUPRC and AUROC of the scores, and the AUPRC of a constant score (the fraud rate)."""
    if labels.min() == labels.max():
        raise ValueError(
            "evaluation: the test set holds only one class; use more data or another "
            "train.split setting"
        )
    return {
        "auprc": float(average_precision_score(labels, probabilities, sample_weight=counts)),
        "auroc": float(roc_auc_score(labels, probabilities, sample_weight=counts)),
        "baseline_auprc": float(np.sum(counts[labels == 1]) / np.sum(counts)),
    }


# What a score depends on besides the model and the rows: part of the rows' fingerprint.
SCORING = (fraud_probabilities, as_arrays, ranking_metrics)


def rows_fingerprint(rows: DataFrame, scores: pd.DataFrame | None = None) -> str:
    """The fingerprint of ``rows`` (:mod:`fraud_detection.ml.fingerprint`), from the
    ``row_hashes`` of their fingerprinted ``scores``, or in a pass of its own."""
    if scores is not None:
        return fingerprint(rows, int(scores["count"].sum()), scores["row_hashes"], SCORING)
    count, total = rows.agg(F.count(F.lit(1)), F.sum(row_hash(rows))).first()
    return fingerprint(rows, count, [total], SCORING)
