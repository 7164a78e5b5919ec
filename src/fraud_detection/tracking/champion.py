"""The current champion's score on this run's evaluation data, for the promotion decision.

Re-scoring the champion means loading a registered Spark model and scoring every evaluation
row with it: seconds that would otherwise come after the new model's own evaluation. So the
scoring starts as soon as the evaluation rows exist, in a worker thread, while the new model
trains and is evaluated; registration then takes that score, unless the champion changed
in between (another run promoted a version), in which case the new champion is scored then.
"""

from __future__ import annotations

from concurrent.futures import Future

import mlflow
import mlflow.spark
from mlflow import MlflowClient
from pyspark.sql import DataFrame

from fraud_detection.pipelines.train.evaluation import (
    as_arrays,
    fraud_probabilities,
    ranking_metrics,
)
from fraud_detection.tracking.background import in_background
from fraud_detection.tracking.registry import current_champion


def score_version(name: str, version: str, rows: DataFrame, metric: str) -> float:
    """``metric`` of registered version ``version`` of ``name`` on ``rows``."""
    model = mlflow.spark.load_model(f"models:/{name}/{version}")
    return ranking_metrics(*as_arrays(fraud_probabilities(model, rows)))[metric]


class ChampionScorer:
    """Scores a registered model's champion on the evaluation rows, early or on demand."""

    def __init__(self, name: str, rows: DataFrame, metric: str) -> None:
        self._name, self._rows, self._metric = name, rows, metric
        self._early: Future | None = None
        self._early_version: str | None = None  # the champion the early scoring found

    def start(self) -> ChampionScorer:
        """Score the current champion now, in a worker thread."""
        self._early = in_background("champion-score", self._score_current)
        return self

    def _score_current(self) -> float | None:
        self._early_version = current_champion(MlflowClient(), self._name)
        if self._early_version is None:
            return None
        return score_version(self._name, self._early_version, self._rows, self._metric)

    def score(self, version: str) -> float:
        """The score of champion ``version``: the early one (or its error) when it scored
        this very version, else scored now."""
        if self._early is not None:
            self._early.exception()  # wait for it
            if self._early_version == version:
                return self._early.result()
        return score_version(self._name, version, self._rows, self._metric)

    def wait(self) -> None:
        """Let an early scoring finish (its error, if any, is dropped: the run is ending)."""
        if self._early is not None:
            self._early.exception()
