"""The types of the pipelines' parameters: what each key of ``conf/base/parameters_*.yml`` may hold.

Nodes declare them (``params: TrainParams``), so Kedro builds each one from the run's
parameters before any node runs and a node only ever sees values of the right type and
range; :mod:`fraud_detection.hooks.parameters` reports a bad value by its full key and
where it came from. Values must already have their type (YAML and ``--params`` give
``5`` as a number, ``"5"`` as text): no text is read as a number.
``data_generation``'s type, ``GenerationParams``, is built on the same base and lives with
the generator in :mod:`fraud_detection.simulation.config`.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fraud_detection.schema import (
    HISTORY_FEATURES,
    IDENTIFIERS,
    LABEL,
    RAW_COLUMNS,
    TRANSACTION_FEATURES,
    TRANSACTION_TYPES,
)

Fraction = Annotated[float, Field(gt=0.0, lt=1.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1)]

# The model input table's columns a model may read: the label and the identifiers excluded.
NUMERIC_COLUMNS = (
    *(name for name, kind in RAW_COLUMNS.items() if kind != "string" and name != LABEL),
    *TRANSACTION_FEATURES,
    *HISTORY_FEATURES,
)
CATEGORICAL_COLUMNS = tuple(
    name for name, kind in RAW_COLUMNS.items() if kind == "string" and name not in IDENTIFIERS
)


class Parameters(BaseModel):
    """Unknown keys are refused, values are never converted from another type, and a node
    cannot change the parameters it was given."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SplitParams(Parameters):
    """``params:split``: validation and sharding of raw transactions."""

    n_shards: Annotated[int, Field(ge=1)]
    max_quarantine_fraction: Probability
    # A larger amount or balance (or one that is not finite) makes its row malformed.
    max_abs_amount: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 1e13


class AggregateParams(Parameters):
    """``params:aggregate``: the feature computation."""

    balance_tolerance: Annotated[float, Field(ge=0.0)]


class TrainTestSplit(Parameters):
    method: Literal["random", "time"]
    test_fraction: Fraction
    seed: int


class TreeParams(Parameters):
    """Spark's ``DecisionTreeClassifier`` hyperparameters, within the ranges Spark accepts."""

    max_depth: Annotated[int, Field(ge=0, le=30)]
    max_bins: Annotated[int, Field(ge=2)]
    min_instances_per_node: Annotated[int, Field(ge=1)]
    min_info_gain: Annotated[float, Field(ge=0.0)]
    impurity: Literal["gini", "entropy"]
    seed: int


class Release(Parameters):
    group: Name
    artifact: Name
    major_minor: Annotated[str, Field(pattern=r"^\d+\.\d+$")]


class TrainParams(Parameters):
    """``params:train``: which rows, which split, which features and which tree."""

    transaction_types: Annotated[list[Literal[TRANSACTION_TYPES]], Field(min_length=1)]
    split: TrainTestSplit
    categorical_features: list[str]
    numeric_features: Annotated[list[str], Field(min_length=1)]
    class_weight: Literal["balanced"] | Annotated[float, Field(gt=0.0)]
    model: TreeParams
    release: Release

    @field_validator("categorical_features")
    @classmethod
    def _categorical(cls, names: list[str]) -> list[str]:
        return _columns(names, CATEGORICAL_COLUMNS, "categorical")

    @field_validator("numeric_features")
    @classmethod
    def _numeric(cls, names: list[str]) -> list[str]:
        return _columns(names, NUMERIC_COLUMNS, "numeric")


class ScoreParams(Parameters):
    """``params:score``: which registered version scores, and its decision threshold."""

    model_ref: Name | Annotated[int, Field(ge=1)]
    threshold: Probability | None


def _columns(names: list[str], allowed: tuple[str, ...], kind: str) -> list[str]:
    """``names`` if each is a ``kind`` column of the model input table, else the closest ones."""
    unknown = [name for name in names if name not in allowed]
    if unknown:
        described = []
        for name in unknown:
            guess = difflib.get_close_matches(name, allowed, n=1)
            described.append(f"{name!r}" + (" (the label)" if name in (LABEL, "label") else
                                            f" (did you mean {guess[0]!r}?)" if guess else ""))
        raise ValueError(
            f"not a {kind} column of model_input_table: {', '.join(described)}; "
            f"its {kind} columns are {', '.join(allowed)}"
        )
    if len(set(names)) < len(names):
        raise ValueError(f"a column is listed twice: {names}")
    return names
