"""Evaluate an exported Spark pipeline (:mod:`fraud_detection.tracking.tree_export`) in float64.

Spark's rules, read from its source (``org.apache.spark.ml.tree``): a ``ContinuousSplit``
sends a row left when ``value <= threshold``; a ``CategoricalSplit`` when the value is one
of its left categories; a leaf's probability is its class statistics divided by their sum
(``ProbabilisticClassificationModel.normalizeToProbabilitiesInPlace``). The indexer gives a
value its position in the labels, an unseen value the next index (``handleInvalid='keep'``),
and the assembler casts every input to double, in its column order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

FORMAT = "fraud-detection-tree/1"


class ExportedTree:
    """The exported pipeline, arranged in arrays for evaluating many rows at once."""

    def __init__(self, exported: dict[str, Any]) -> None:
        if exported.get("format") != FORMAT:
            raise ValueError(f"model tree: format {exported.get('format')!r} is not {FORMAT!r}; "
                             "log the model again with this version of fraud_detection")
        self.indexers = exported["indexers"]
        self.features: list[str] = exported["features"]
        nodes = exported["nodes"]
        self.left = np.array([n["left"] for n in nodes], dtype=np.int64)
        self.right = np.array([n["right"] for n in nodes], dtype=np.int64)
        self.feature = np.array([n.get("feature", -1) for n in nodes], dtype=np.int64)
        self.threshold = np.array([n.get("threshold", np.nan) for n in nodes], dtype=np.float64)
        self.categories = [np.array(n["left_categories"]) if "left_categories" in n else None
                           for n in nodes]
        self.probability = [_probabilities(n["stats"]) if "stats" in n else None for n in nodes]

    @property
    def input_columns(self) -> list[str]:
        """The columns a row must have: the indexers' inputs, then the assembler's others."""
        produced = {name for ix in self.indexers for name in ix["outputs"]}
        inputs = [name for ix in self.indexers for name in ix["inputs"]]
        return inputs + [name for name in self.features if name not in produced
                         and name not in inputs]

    def vectors(self, rows: Mapping[str, Any]) -> np.ndarray:
        """The assembled feature vectors (one row each), as Spark's assembler makes them."""
        columns = {}
        for indexer in self.indexers:
            for source, target, labels in zip(indexer["inputs"], indexer["outputs"],
                                              indexer["labels"]):
                position = {label: float(i) for i, label in enumerate(labels)}
                unseen = float(len(labels))
                columns[target] = np.array([position.get(v, unseen) for v in rows[source]],
                                           dtype=np.float64)
        return np.column_stack([columns[name] if name in columns
                                else np.asarray(rows[name], dtype=np.float64)
                                for name in self.features])

    def predict_proba(self, rows: Mapping[str, Any]) -> np.ndarray:
        """Class probabilities of every row (shape: rows x classes); ``rows`` maps each column
        to its values (a DataFrame or a dict of arrays)."""
        vectors = self.vectors(rows)
        out = np.empty((len(vectors), len(next(p for p in self.probability if p is not None))))
        for i, vector in enumerate(vectors):
            out[i] = self.probability[self._leaf(vector)]
        return out

    def _leaf(self, vector: np.ndarray) -> int:
        node = 0
        while self.left[node] >= 0:
            value = vector[self.feature[node]]
            categories = self.categories[node]
            go_left = (value <= self.threshold[node]) if categories is None else (
                value in categories)
            node = self.left[node] if go_left else self.right[node]
        return int(node)


def _probabilities(stats: list[float]) -> np.ndarray:
    """Spark's normalization: each statistic divided by their sum, summed left to right."""
    total = 0.0
    for value in stats:
        total += value
    return np.array([value / total for value in stats], dtype=np.float64)
