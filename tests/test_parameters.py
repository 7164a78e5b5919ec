"""The parameter types (fraud_detection.parameters): conf/base fits them, bad values do not."""

from __future__ import annotations

import copy
import importlib
from pathlib import Path

import pytest
import yaml
from kedro.validation import TypeExtractor
from pydantic import ValidationError

from fraud_detection.parameters import (
    AggregateParams,
    ScoreParams,
    SplitParams,
    TrainParams,
)
from fraud_detection.simulation import GenerationParams

CONF = Path(__file__).resolve().parents[1] / "conf" / "base"
TYPES = {"split": SplitParams, "aggregate": AggregateParams, "train": TrainParams,
         "score": ScoreParams, "data_generation": GenerationParams}


def base(name: str) -> dict:
    return yaml.safe_load((CONF / f"parameters_{name}.yml").read_text())[name]


def with_change(params: dict, path: str, value) -> dict:
    """A deep copy of ``params`` with the dotted key ``path`` set to ``value``."""
    *parents, last = path.split(".")
    changed = copy.deepcopy(params)
    target = changed
    for key in parents:
        target = target[key]
    target[last] = value
    return changed


def test_the_nodes_declare_these_types_for_their_parameters():
    """Kedro validates a parameter only when a node's signature gives its type."""
    pipelines = {
        name: importlib.import_module(f"fraud_detection.pipelines.{name}").create_pipeline()
        for name in ("data_generation", *TYPES)
    }
    assert TypeExtractor(pipelines).extract_types_from_pipelines() == TYPES


@pytest.mark.parametrize("name", sorted(TYPES))
def test_conf_base_parameters_fit_their_types(name):
    params = TYPES[name].model_validate(base(name))
    assert params.model_dump(mode="json") == base(name)


@pytest.mark.parametrize(("name", "path", "value", "reason"), [
    ("split", "n_shards", 0, "greater than or equal to 1"),
    ("split", "n_shards", 2.5, "valid integer"),
    ("split", "n_shards", "16", "valid integer"),  # text is never read as a number
    ("split", "n_shards", True, "valid integer"),
    ("split", "max_quarantine_fraction", 1.5, "less than or equal to 1"),
    ("aggregate", "balance_tolerance", -0.01, "greater than or equal to 0"),
    ("train", "split.method", "bogus", "'random' or 'time'"),
    ("train", "split.test_fraction", 1.0, "less than 1"),
    ("train", "split.test_fraction", 0, "greater than 0"),
    ("train", "model.max_depth", "abc", "valid integer"),
    ("train", "model.max_depth", 31, "less than or equal to 30"),
    ("train", "model.max_bins", 1, "greater than or equal to 2"),
    ("train", "model.impurity", "variance", "'gini' or 'entropy'"),
    ("train", "class_weight", "bal", "'balanced'"),
    ("train", "class_weight", -2, "greater than 0"),
    ("train", "transaction_types", ["TRANSFER", "CASHOUT"], "'CASH_IN', 'CASH_OUT'"),
    ("train", "transaction_types", [], "at least 1 item"),
    ("train", "numeric_features", ["amount", "amout"],
     "not a numeric column of model_input_table: 'amout' (did you mean 'amount'?)"),
    ("train", "numeric_features", ["amount", "isFraud"],
     "numeric column of model_input_table: 'isFraud' (the label)"),
    ("train", "numeric_features", ["amount", "amount"], "listed twice"),
    ("train", "categorical_features", ["nameDest"], "not a categorical column"),
    ("train", "release.major_minor", 1.0, "valid string"),
    ("train", "release.major_minor", "1", "match pattern"),
    ("train", "model.max_dept", 5, "Extra inputs are not permitted"),
    ("score", "model_ref", 0, "greater than or equal to 1"),
    ("score", "model_ref", "", "at least 1 character"),
    ("score", "threshold", 1.5, "less than or equal to 1"),
    ("score", "threshold", "high", "valid number"),
])
def test_a_bad_value_is_refused_with_its_key_and_reason(name, path, value, reason):
    with pytest.raises(ValidationError) as raised:
        TYPES[name].model_validate(with_change(base(name), path, value))
    [key] = {".".join(map(str, error["loc"][:len(path.split("."))]))
             for error in raised.value.errors()}
    assert key == path
    assert reason in str(raised.value)


def test_values_of_the_right_type_are_taken_as_they_are():
    score = ScoreParams.model_validate({"model_ref": 3, "threshold": 1})
    assert (score.model_ref, score.threshold) == (3, 1.0)
    train = TrainParams.model_validate(with_change(base("train"), "class_weight", 25))
    assert train.class_weight == 25.0
    with pytest.raises(ValidationError, match="frozen"):
        train.model.max_depth = 3  # a node cannot change the parameters it was given
