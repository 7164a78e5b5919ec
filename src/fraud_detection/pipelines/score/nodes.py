"""Batch scoring with a registered model version: probability, decision and provenance per row.

Every output row says which model made it (coordinate, registry version, training run), so a
prediction can always be traced back to the run, code and data that produced the model. The
output holds no timestamp: scoring the same batch with the same version gives the same rows.
"""

from __future__ import annotations

import logging

from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fraud_detection.datasets.mlflow_model import RegisteredModel
from fraud_detection.parameters import ScoreParams
from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.tracking.model_logging import model_input_columns

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
PREDICTION_COLUMNS = (
    "fraud_probability",
    "predicted_fraud",
    "model_coordinate",
    "model_version",
    "model_run_id",
)


def decision_threshold(registered: RegisteredModel, params: ScoreParams) -> float:
    """``score.threshold`` if set, else the threshold recorded at training, else 0.5."""
    if params.threshold is not None:
        threshold, source = params.threshold, "score.threshold"
    elif registered.threshold is not None:
        threshold, source = registered.threshold, f"model version {registered.version}"
        if not 0.0 <= threshold <= 1.0:  # a tag anyone can set; score.threshold is checked
            raise ValueError(
                f"score: the decision threshold recorded with model version "
                f"{registered.version} must be a probability in [0, 1], got {threshold!r}; "
                "set score.threshold to score with another"
            )
    else:
        threshold, source = DEFAULT_THRESHOLD, "default"
    logger.info("Decision threshold %s (from %s)", threshold, source)
    return threshold


def check_model_ref(registered: RegisteredModel, params: ScoreParams) -> None:
    """Fail when ``score.model_ref`` names another model than the catalog loaded.

    The catalog entry ``scoring_model`` reads the ref from runtime parameters
    (``--params score.model_ref=...``); a value changed only in a parameters file would be
    silently ignored otherwise.
    """
    ref = params.model_ref
    text = str(ref).strip()
    if text == registered.alias or (text.isdigit() and int(text) == registered.version):
        return
    loaded = f"alias {registered.alias}" if registered.alias else "by version number"
    raise ValueError(
        f"score.model_ref is {ref!r} but the dataset 'scoring_model' loaded "
        f"{registered.source_uri} ({loaded}); pass the ref at run time with "
        f"'kedro run --pipelines score --params score.model_ref={ref}', or set model_ref of "
        "'scoring_model' in conf/local/catalog.yml"
    )


def _check_columns(features: DataFrame, registered: RegisteredModel) -> None:
    needed = dict.fromkeys([*RAW_COLUMNS, *model_input_columns(registered.model)])
    missing = [column for column in needed if column not in features.columns]
    if missing:
        raise ValueError(
            f"scoring input: column(s) {', '.join(repr(c) for c in missing)} missing, needed by "
            f"model {registered.name} version {registered.version} "
            f"({registered.coordinate or registered.source_uri}); found: "
            f"{', '.join(features.columns)}. Build the input with the same feature code "
            "(pipeline 'score' does) or use a model version trained on these columns"
        )


def _probability_column(model: PipelineModel) -> str:
    last = model.stages[-1]
    return last.getProbabilityCol() if last.hasParam("probabilityCol") else "probability"


def score_transactions(
    features: DataFrame, registered_model: RegisteredModel, params: ScoreParams
) -> DataFrame:
    """The PaySim columns of every row, the fraud probability, the decision and the model stamps.

    ``predicted_fraud`` is 1 where ``fraud_probability >= threshold`` (see
    ``decision_threshold``); the stamps are the version's coordinate, number and training run.
    """
    check_model_ref(registered_model, params)
    _check_columns(features, registered_model)
    threshold = decision_threshold(registered_model, params)
    if registered_model.coordinate is None:
        logger.warning(
            "%s has no 'coordinate' tag: model_coordinate will be null",
            registered_model.source_uri,
        )
    model = registered_model.model
    probability = vector_to_array(_probability_column(model))[1].cast("double")
    scored = model.transform(features).select(
        *RAW_COLUMNS, probability.alias("fraud_probability")
    )
    return scored.select(
        "*",
        (F.col("fraud_probability") >= F.lit(threshold)).cast("int").alias("predicted_fraud"),
        F.lit(registered_model.coordinate).cast("string").alias("model_coordinate"),
        F.lit(registered_model.version).cast("int").alias("model_version"),
        F.lit(registered_model.run_id).cast("string").alias("model_run_id"),
    )
