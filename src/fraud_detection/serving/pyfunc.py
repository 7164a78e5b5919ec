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
from fraud_detection.serving.validation import (
    DEFAULT_MAX_ABS,
    TEXT,
    columns_of,
    problems_in,
    trimmed,
)

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
        where pandas' per-call overhead would cost more than the work. Every DataFrame column
        is read once (:func:`columns_of`), and the answer is one object block.
        """
        raw = columns_of(model_input)
        n = len(model_input)
        reasons: list[str | None] = [INVALID_PREFIX + p if p else None
                                     for p in problems_in(raw, n, self.max_abs)]
        valid = [i for i, reason in enumerate(reasons) if reason is None]
        probability: list[float | None] = [None] * n
        if valid:
            columns = _typed(raw, valid if len(valid) < n else None)
            for i, kind in zip(valid, columns["type"]):
                reasons[i] = unscored_reason(kind, self.release.scope)
            scored = [j for j, i in enumerate(valid) if reasons[i] is None]
            if scored:  # features of every valid row: the history includes all of them
                inputs = {**columns, **features.feature_columns(columns, self.balance_tolerance)}
                if len(scored) < len(valid):
                    inputs = {name: np.asarray(values)[scored] for name, values in inputs.items()}
                for j, p in zip(scored, self.tree.predict_proba(inputs)[:, 1].tolist()):
                    probability[valid[j]] = p
        return self._answers(probability, reasons)

    def _answers(self, probability: list[float | None], reasons: list[str | None]
                 ) -> pd.DataFrame:
        """The answer frame: object columns, so a missing value stays ``None`` (JSON null)."""
        release = self.release
        out = np.empty((len(reasons), len(OUTPUT_COLUMNS)), dtype=object)
        out[:, 0] = probability
        out[:, 1] = [None if p is None else int(p >= release.threshold) for p in probability]
        out[:, 2] = reasons
        out[:, 3] = release.coordinate
        out[:, 4] = release.version
        out[:, 5] = release.run_id
        return Answers(out, columns=list(OUTPUT_COLUMNS), copy=False)


class Answers(pd.DataFrame):
    """The answer frame, a DataFrame whose ``to_dict(orient="records")`` (what MLflow's scoring
    server calls to write every answer) reads the rows straight from the values: pandas'
    own boxes each column as a Series first, which takes longer than the model's work on a
    small request. The records are pandas' exactly; anything but plain Python scalars (a
    numpy value written into the frame afterwards) goes to pandas. A frame derived from this
    one is a plain DataFrame."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def to_dict(self, orient: str = "dict", *args: Any, **kwargs: Any) -> Any:
        if orient == "records" and not args and not kwargs and self.columns.is_unique:
            rows = self.to_numpy().tolist()
            if all(type(value) in _PLAIN for row in rows for value in row):
                names = self.columns.tolist()
                return [dict(zip(names, row)) for row in rows]
        return super().to_dict(orient, *args, **kwargs)


_PLAIN = (float, int, str, bool, type(None))  # what pandas' records hold as they are


def _typed(raw: dict[str, np.ndarray], valid: list[int] | None) -> dict[str, Any]:
    """The valid rows' columns (``None``: every row) with the batch's types: texts trimmed,
    numbers as float64, ``step`` and ``isFlaggedFraud`` (valid, so present and integral) as
    integers."""
    columns: dict[str, Any] = {}
    for name, kind in RAW_COLUMNS.items():
        if name not in raw:
            continue
        values = raw[name] if valid is None else raw[name][valid]
        if name in TEXT:
            columns[name] = [trimmed(v) for v in values.tolist()]
        elif kind == "double":
            columns[name] = values.astype("float64")
        elif name in ("step", "isFlaggedFraud"):
            columns[name] = values.astype("float64").astype("int64")
    return columns
