"""The JVM-free ``python_function`` flavor of every logged fraud model: raw rows in, scores out.

MLflow imports this module by the ``loader_module`` of the model's ``python_function`` flavor
and calls :func:`_load_pyfunc` with the flavor's data folder, which holds ``pipeline.json``
(:mod:`fraud_detection.tracking.online_flavor` writes it). A request is any number of raw
PaySim rows (``isFraud`` optional); every row is answered, in order:

- a malformed row: no score, ``unscored_reason`` ``invalid: <the batch validation's text>``;
- a row of a type outside the version's scope: no score, ``out_of_scope: PAYMENT``;
- any other row: ``fraud_probability`` and ``predicted_fraud`` at the version's threshold,
  with customer history taken from the earlier valid rows of the same customer in the
  request, as batch scoring takes it from the batch;

and every row carries ``model_coordinate``, ``model_version`` and ``model_run_id``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection.model_scope import unscored_reason
from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.serving import features
from fraud_detection.serving.release import Release, load_release
from fraud_detection.serving.tree import ExportedTree
from fraud_detection.serving.validation import DEFAULT_MAX_ABS, TEXT, problems_of, trimmed

PIPELINE_FILE = "pipeline.json"
INVALID_PREFIX = "invalid: "
OUTPUT_COLUMNS = ("fraud_probability", "predicted_fraud", "unscored_reason",
                  "model_coordinate", "model_version", "model_run_id")


def _load_pyfunc(data_path: str, model_config: dict | None = None) -> OnlineModel:
    """MLflow's entry point: the model of the flavor's data folder."""
    folder = Path(data_path)
    config = json.loads((folder / PIPELINE_FILE).read_text())
    scope = tuple(config["transaction_types"]) if config.get("transaction_types") else None
    return OnlineModel(config, load_release(folder.parent, scope))


class OnlineModel:
    """Validation, features, tree and threshold of one model version."""

    def __init__(self, config: dict[str, Any], release: Release) -> None:
        self.tree = ExportedTree(config["pipeline"])
        self.balance_tolerance = float(config["balance_tolerance"])
        self.max_abs = float(config.get("max_abs_amount", DEFAULT_MAX_ABS))
        self.release = release

    def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """One answer per row of ``model_input``, in its order (see the module docstring).

        Plain arrays and loops rather than DataFrame operations: a request holds a few rows,
        where pandas' per-call overhead would cost more than the work.
        """
        reasons: list[str | None] = [INVALID_PREFIX + p if p else None
                                     for p in problems_of(model_input, self.max_abs)]
        valid = [i for i, reason in enumerate(reasons) if reason is None]
        probability: list[float | None] = [None] * len(reasons)
        if valid:
            columns = _typed(model_input, valid)
            for i, kind in zip(valid, columns["type"]):
                reasons[i] = unscored_reason(kind, self.release.scope)
            scored = [j for j, i in enumerate(valid) if reasons[i] is None]
            if scored:  # features of every valid row: the history includes all of them
                inputs = {**columns, **features.feature_columns(columns, self.balance_tolerance)}
                picked = {name: np.asarray(values)[scored] for name, values in inputs.items()}
                for j, p in zip(scored, self.tree.predict_proba(picked)[:, 1]):
                    probability[valid[j]] = float(p)
        return self._answers(probability, reasons)

    def _answers(self, probability: list[float | None], reasons: list[str | None]
                 ) -> pd.DataFrame:
        release, n = self.release, len(reasons)
        decided = [None if p is None else int(p >= release.threshold) for p in probability]

        def column(values: list) -> np.ndarray:  # object: a missing value stays None (null)
            out = np.empty(n, dtype=object)
            out[:] = values
            return out

        return pd.DataFrame({
            "fraud_probability": column(probability),
            "predicted_fraud": column(decided),
            "unscored_reason": column(reasons),
            "model_coordinate": column([release.coordinate] * n),
            "model_version": column([release.version] * n),
            "model_run_id": column([release.run_id] * n),
        })


def _typed(rows: pd.DataFrame, valid: list[int]) -> dict[str, Any]:
    """The valid rows' columns with the batch's types: texts trimmed, numbers as float64,
    ``step`` and ``isFlaggedFraud`` (valid, so present and integral) as integers."""
    columns: dict[str, Any] = {}
    for name, kind in RAW_COLUMNS.items():
        if name not in rows:
            continue
        values = rows[name].to_numpy()[valid]
        if name in TEXT:
            columns[name] = [trimmed(v) for v in values]
        elif kind == "double":
            columns[name] = values.astype("float64")
        elif name in ("step", "isFlaggedFraud"):
            columns[name] = values.astype("float64").astype("int64")
    return columns
