"""The current champion's score on this run's evaluation data, for the promotion decision.

Re-scoring the champion means loading a registered Spark model and scoring every evaluation
row with it: seconds of CPU beside the run's own work. Two things keep that cost off the run:

- the score recorded when the champion was registered (its ``metric.<name>`` tag) *is* its
  score here when its evaluation had the same fingerprint as this run's
  (:mod:`fraud_detection.ml.fingerprint`: the same rows, scored by the same
  code): then nothing is re-scored;
- otherwise the scoring starts as soon as the evaluation rows exist, in a worker thread,
  while the new model trains and is evaluated. It is not started when the champion was
  trained on this run's very inputs (its ``data.<input>`` tags): its recorded score will
  almost surely stand in. That guess only decides when scoring happens, never which score
  counts: registration compares the fingerprints, and re-scores when they differ.

Registration takes that score, unless the champion changed in between (another run promoted
a version), in which case the new champion's score is found then.
"""

from __future__ import annotations

from concurrent.futures import Future

import mlflow
import mlflow.spark
from mlflow import MlflowClient
from pyspark.sql import DataFrame

from fraud_detection.ml.scoring import as_arrays, fraud_probabilities, ranking_metrics
from fraud_detection.tracking.background import in_background
from fraud_detection.tracking.registry import current_champion

# A version's test_rows_fingerprint, beside its metric.* tags.
FINGERPRINT_TAG = "evaluation.fingerprint"
RECORDED, SCORED = "recorded", "re-scored"


def score_version(name: str, version: str, rows: DataFrame, metric: str) -> float:
    """``metric`` of registered version ``version`` of ``name`` on ``rows``."""
    model = mlflow.spark.load_model(f"models:/{name}/{version}")
    return ranking_metrics(*as_arrays(fraud_probabilities(model, rows)))[metric]


class ChampionScorer:
    """A registered model's champion's score on the evaluation rows: recorded, scored early,
    or scored on demand; ``how`` tells, per version, whether it was recorded or re-scored."""

    def __init__(self, name: str, rows: DataFrame, metric: str) -> None:
        self._name, self._rows, self._metric = name, rows, metric
        self._early: Future | None = None
        self._early_version: str | None = None  # the champion the early scoring found
        self.how: dict[str, str] = {}

    def start(self, inputs: dict[str, str]) -> ChampionScorer:
        """Score the current champion now, in a worker thread, unless its version's tags
        hold every one of ``inputs`` (``data.<dataset>`` -> this run's version of it)."""
        self._early = in_background("champion-score", self._score_current, dict(inputs))
        return self

    def _score_current(self, inputs: dict[str, str]) -> float | None:
        client = MlflowClient()
        self._early_version = version = current_champion(client, self._name)
        if version is None:
            return None
        tags = client.get_model_version(self._name, version).tags
        if inputs and all(tags.get(key) == value for key, value in inputs.items()):
            return None  # trained on these very inputs: its recorded score is expected
        return self._scored(version)

    def score(self, version: str, rows_fingerprint: str | None) -> float:
        """Champion ``version``'s score: the early one (or its error) when it was for this
        very version; else the recorded one when its evaluation had this fingerprint; else
        scored now."""
        if self._early is not None:
            self._early.exception()  # wait for it
            if self._early_version == version and (early := self._early.result()) is not None:
                return early
        tags = MlflowClient().get_model_version(self._name, version).tags
        recorded = tags.get(f"metric.{self._metric}")
        same_rows = rows_fingerprint and tags.get(FINGERPRINT_TAG) == rows_fingerprint
        if same_rows and recorded is not None:
            self.how[version] = RECORDED
            return float(recorded)
        return self._scored(version)

    def _scored(self, version: str) -> float:
        score = score_version(self._name, version, self._rows, self._metric)
        self.how[version] = SCORED
        return score

    def wait(self) -> None:
        """Let an early scoring finish (its error, if any, is dropped: the run is ending)."""
        if self._early is not None:
            self._early.exception()
