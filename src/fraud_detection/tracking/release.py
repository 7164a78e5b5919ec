"""A training run's model release: the logged model, its registered version, the aliases.

The MLflow hook makes one :class:`ModelRelease` per training run and tells it what the
pipeline produced as it appears; the release does the rest:

1. ``evaluation_rows``: the held-out rows exist. The champion's score on them is looked for
   (and, when the champion was trained on other inputs, re-scored) in a thread while the
   new model trains (:mod:`fraud_detection.tracking.champion`).
2. ``model_saved``: Kedro saved the fitted model. It is logged to the MLflow run in a
   thread, from the files Spark just wrote, while the next nodes evaluate it.
3. ``publish``: the evaluation metrics exist. The logged model is registered as a new
   version tagged with the run's data versions (from the :class:`RunRecord`), metrics and
   scope; ``challenger`` moves to it, ``champion`` too when it beats the champion
   (:mod:`fraud_detection.tracking.registry`); the decision is tagged on the run and kept
   in ``registry/promotion.json``. The outcome is returned for the run's summary.

A run that ends before ``publish`` lets the logging and the scoring finish (``close``), or,
stopped with Ctrl-C, leaves them (``abandon``).
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

from fraud_detection.redaction import redact
from fraud_detection.tracking.champion import FINGERPRINT_TAG, ChampionScorer
from fraud_detection.tracking.config import MlflowSettings
from fraud_detection.tracking.model_logging import (
    log_spark_model,
    log_spark_model_in_background,
    scope_tags,
)
from fraud_detection.tracking.online_flavor import OnlineSettings
from fraud_detection.tracking.registry import Promotion, register_and_promote
from fraud_detection.tracking.run_record import RunRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Released:
    """What a release made: the registered version, its decision and the metric behind it."""

    model_name: str
    promotion: Promotion
    metric: str
    baseline: float | None  # the metric of a model that ranks at random (the fraud rate)


class ModelRelease:
    """Logs, registers and promotes the model one training run makes."""

    def __init__(self, settings: MlflowSettings, record: RunRecord, run_id: str,
                 train_params: dict[str, Any], free_inputs: set[str],
                 online: OnlineSettings | None = None) -> None:
        self._settings, self._record, self._run_id = settings, record, run_id
        self._train = train_params
        self._online = online  # the JVM-free pyfunc's settings (tracking.online_flavor)
        self._free_inputs = free_inputs  # datasets the run reads and no node writes
        self._registers = bool(settings.log.get("register"))
        self._example_rows: DataFrame | None = None
        self._model_log: Future | None = None
        self._champion: ChampionScorer | None = None

    def evaluation_rows(self, rows: DataFrame) -> None:
        """Start looking for the champion's score on ``rows`` while the model trains."""
        if self._registers:
            inputs = self._record.data_version_tags(only=self._free_inputs)
            self._champion = self._champion_scorer(rows).start(inputs)

    def training_rows(self, rows: DataFrame | None) -> None:
        """The rows the model was fitted on: its input example, once Kedro saved it."""
        self._example_rows = rows

    def model_saved(self, model: PipelineModel, saved_path: str | None) -> None:
        """Log the model Kedro just saved at ``saved_path`` (copied from there) in a thread."""
        if self._example_rows is None:
            return
        self._model_log = log_spark_model_in_background(
            self._run_id, model, self._example_rows, saved_path, self._trained_types(),
            self._online)
        self._example_rows = None

    def publish(self, model: PipelineModel, evaluation: DataFrame,
                metrics: dict[str, Any]) -> Released | None:
        """Register the logged model and move the aliases; ``None`` when not registering."""
        if self._model_log is not None:  # logging since the model was fitted
            info, self._model_log = self._model_log.result(), None
        else:  # the run started after the fit (e.g. --from-nodes evaluate_model)
            info = log_spark_model(model, evaluation, transaction_types=self._trained_types(),
                                   online=self._online)
        if not self._registers:
            return None
        settings, metric = self._settings, self._settings.champion["metric"]
        # Found since the evaluation rows existed; else (the run started later) now.
        champion, self._champion = self._champion or self._champion_scorer(evaluation), None
        fingerprint = metrics.get("test_rows_fingerprint")
        promotion = register_and_promote(
            MlflowClient(), settings.registered_model_name, info.model_uri, self._run_id,
            release=self._train["release"], metric=metric, new_score=float(metrics[metric]),
            min_improvement=float(settings.champion["min_improvement"]),
            score_champion=functools.partial(champion.score, rows_fingerprint=fingerprint),
            tags=self._version_tags(metrics, fingerprint, info),
        )
        self._tag_run(promotion, champion.how.get(promotion.champion_before or ""))
        baseline = metrics.get(f"baseline_{metric}")
        return Released(settings.registered_model_name, promotion, metric,
                        float(baseline) if is_number(baseline) else None)

    def close(self) -> None:
        """The run ends before ``publish``: let the logging and the scoring finish."""
        if self._model_log is not None:
            if (error := self._model_log.exception()) is not None:
                logger.warning("logging the model failed: %s", error)
            self._model_log = None
        if self._champion is not None:  # nor leave its scoring to a stopping Spark
            self._champion.wait()
            self._champion = None
        self._example_rows = None

    def abandon(self) -> None:
        """Stopped with Ctrl-C: the logging and the scoring are not waited for."""
        self._model_log = self._champion = self._example_rows = None

    def _version_tags(self, metrics: dict[str, Any], fingerprint: str | None,
                      info: Any) -> dict[str, str]:
        return {
            "kedro_run_id": self._record.kedro_run_id,
            "threshold": str(metrics.get("threshold", "")),
            **{f"metric.{k}": str(v) for k, v in metrics.items() if is_number(v)},
            **({FINGERPRINT_TAG: fingerprint} if fingerprint else {}),
            **self._record.data_version_tags(),
            **scope_tags(info),
        }

    def _tag_run(self, promotion: Promotion, how: str | None) -> None:
        mlflow.set_tags({
            "registry.model": self._settings.registered_model_name,
            "registry.version": promotion.version,
            "registry.coordinate": promotion.coordinate,
            "registry.decision": "champion" if promotion.promoted else "challenger",
            "registry.reason": promotion.reason,
            **({"registry.champion_score": how} if how else {}),
        })
        mlflow.log_dict(promotion.as_dict(), "registry/promotion.json")

    def _trained_types(self) -> list[str] | None:
        """``train.transaction_types``: the model's scope, recorded with it."""
        return self._train.get("transaction_types")

    def _champion_scorer(self, rows: DataFrame) -> ChampionScorer:
        settings = self._settings
        return ChampionScorer(settings.registered_model_name, rows, settings.champion["metric"])


def is_number(value: Any) -> bool:
    """An int or a float, not a bool: what becomes an MLflow metric or ``metric.*`` tag."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


UI = "http://127.0.0.1:5000"  # `make ui`: the MLflow UI on the project's local store


def run_summary(released: Released | None, run_id: str, experiment_id: str,
                settings: MlflowSettings) -> list[str]:
    """The lines a run ends with: the score against the baseline, the registered version
    with its coordinate and aliases, and where to open the MLflow run."""
    lines = []
    if released is not None:
        promotion, metric = released.promotion, released.metric
        score = f"{metric} {promotion.new_score:.4f}"
        if released.baseline is not None:
            score += f" (baseline {released.baseline:.4f}: a model that ranks at random)"
        aliases = "aliases champion, challenger" if promotion.promoted else (
            f"alias challenger (champion stays version {promotion.champion_before})")
        registered = (f"registered {released.model_name} version {promotion.version} "
                      f"({promotion.coordinate}), {aliases}: {promotion.reason}")
        lines += [score, registered]
    path = f"#/experiments/{experiment_id}/runs/{run_id}"
    if settings.is_local_store:
        where = f"`make ui`, then {UI}/{path}"
    elif settings.tracking_uri.startswith(("http://", "https://")):
        where = f"{redact(settings.tracking_uri).rstrip('/')}/{path}"
    else:  # databricks: the workspace's URL is not in the tracking URI
        where = f"{redact(settings.tracking_uri)}, experiment {experiment_id}"
    return [*lines, f"MLflow run {run_id}: {where}"]
