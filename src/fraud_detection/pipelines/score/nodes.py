"""Batch scoring with a registered model version: probability, decision and provenance per row.

Every output row says which model made it (coordinate, registry version, training run), so a
prediction can always be traced back to the run, code and data that produced the model. The
output holds no timestamp: scoring the same batch with the same version gives the same rows.

A version scores only the transaction types it was trained on (its scope,
:mod:`fraud_detection.model_scope`): every other row stays in the output, in its place, with
no probability and no decision, and ``unscored_reason`` says why (``out_of_scope: PAYMENT``).
:func:`summarize_scoring` counts both kinds for the run.
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraud_detection.ml.model_input import model_input_columns
from fraud_detection.ml.registered_model import RegisteredModel
from fraud_detection.model_scope import OUT_OF_SCOPE_PREFIX, SCOPE_KEY
from fraud_detection.parameters import ScoreParams
from fraud_detection.schema import LABEL, RAW_COLUMNS, TRANSACTION_TYPES

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5
REASON = "unscored_reason"  # null on a scored row, else why it was not scored
PREDICTION_COLUMNS = (
    "fraud_probability",
    "predicted_fraud",
    REASON,
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
    """Every PaySim column but the label (a batch to score is usually unlabeled) and every
    column the model reads."""
    paysim = [name for name in RAW_COLUMNS if name != LABEL]
    needed = dict.fromkeys([*paysim, *model_input_columns(registered.model)])
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


def scope_of(registered: RegisteredModel) -> tuple[str, ...] | None:
    """The version's scope, logged with where it was read; ``None`` (score every row) when the
    version recorded none and has no ``type`` indexer to read it from."""
    scope, where = registered.transaction_types, registered.scope_source
    if scope is None:
        logger.warning(
            "%s records no '%s' and has no type indexer: its scope is unknown, so every row "
            "is scored. Set the version's tag '%s' to the types it was trained on "
            "(e.g. CASH_OUT,TRANSFER) to score only those",
            registered.source_uri, SCOPE_KEY, SCOPE_KEY,
        )
    else:
        logger.info("%s scores %s (scope from its %s); other types are out of scope",
                    registered.source_uri, ", ".join(scope), where)
    return scope


def unscored_reason(scope: tuple[str, ...] | None) -> Column:
    """``unscored_reason`` of each row: null when the scope holds its type (or is unknown),
    else ``out_of_scope: <type>`` (:func:`fraud_detection.model_scope.unscored_reason`)."""
    if scope is None:
        return F.lit(None).cast("string")
    text = F.concat(F.lit(OUT_OF_SCOPE_PREFIX), F.coalesce(F.col("type"), F.lit("null")))
    return F.when(F.col("type").isin(*scope), F.lit(None).cast("string")).otherwise(text)


def _paysim_columns(features: DataFrame) -> list[Column]:
    """The PaySim columns in file order; ``isFraud`` null when the batch has no label."""
    return [F.col(name) if name in features.columns else F.lit(None).cast(kind).alias(name)
            for name, kind in RAW_COLUMNS.items()]


def score_transactions(
    features: DataFrame, registered_model: RegisteredModel, params: ScoreParams
) -> DataFrame:
    """The PaySim columns of every row, the fraud probability, the decision, why a row was not
    scored, and the model stamps.

    ``predicted_fraud`` is 1 where ``fraud_probability >= threshold`` (see
    ``decision_threshold``); the stamps are the version's coordinate, number and training run.
    A row out of the version's scope gets null ``fraud_probability`` and ``predicted_fraud``
    and its reason. All rows go through the model in one pass (which keeps every row in its
    place; the project's models index an unseen type rather than fail on it) and the
    probabilities of out-of-scope rows are dropped.
    """
    check_model_ref(registered_model, params)
    _check_columns(features, registered_model)
    threshold = decision_threshold(registered_model, params)
    scope = scope_of(registered_model)
    if registered_model.coordinate is None:
        logger.warning(
            "%s has no 'coordinate' tag: model_coordinate will be null",
            registered_model.source_uri,
        )
    model = registered_model.model
    probability = vector_to_array(_probability_column(model))[1].cast("double")
    scored = model.transform(features).select(
        *_paysim_columns(features), probability.alias("fraud_probability"),
        unscored_reason(scope).alias(REASON),
    )
    in_scope = F.col(REASON).isNull()
    return scored.select(
        *RAW_COLUMNS,
        F.when(in_scope, F.col("fraud_probability")).alias("fraud_probability"),
        F.when(in_scope, (F.col("fraud_probability") >= F.lit(threshold)).cast("int"))
        .alias("predicted_fraud"),
        REASON,
        F.lit(registered_model.coordinate).cast("string").alias("model_coordinate"),
        F.lit(registered_model.version).cast("int").alias("model_version"),
        F.lit(registered_model.run_id).cast("string").alias("model_run_id"),
    )


def summarize_scoring(scored: DataFrame) -> dict[str, Any]:
    """The run's counts: rows, scored rows, out-of-scope rows in all and per type (every type
    listed, 0 when none), from the saved scores (one pass over two columns).

    Deterministic (no timestamp); the MLflow hook logs its numbers as the run's metrics.
    """
    counts = scored.groupBy("type", F.col(REASON).isNull().alias("scored")).count().collect()
    by_type = dict.fromkeys(TRANSACTION_TYPES, 0)
    other = 0  # a row of a type the schema does not know; validation lets none through
    for row in counts:
        if row["scored"]:
            continue
        if row["type"] in by_type:
            by_type[row["type"]] += row["count"]
        else:
            other += row["count"]
    total = sum(row["count"] for row in counts)
    scored_rows = sum(row["count"] for row in counts if row["scored"])
    report = {
        "rows": total,
        "scored": scored_rows,
        "out_of_scope": total - scored_rows,
        "out_of_scope_by_type": {**by_type, **({"other": other} if other else {})},
    }
    shown = ", ".join(f"{kind} {n}" for kind, n in report["out_of_scope_by_type"].items() if n)
    logger.info("Scored %d of %d rows; %d out of the model's scope%s", scored_rows, total,
                total - scored_rows, f" ({shown})" if shown else "")
    return report
