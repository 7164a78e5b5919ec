"""An environment's parameters and MLflow settings override only the keys they name; a
parameter that conf/base does not define, or a value its node's type refuses, is refused
before the run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from fraud_detection.hooks.parameters import (
    InvalidParameterError,
    UnknownParameterError,
    invalid_values,
    unknown_keys,
)
from fraud_detection.parameters import TrainParams
from tests.kedro_project import REPO, run_kedro, scratch_project


def loaded(project: Path, runtime_params: dict | None = None):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
        loader = session.load_context().config_loader
        return loader["parameters"], loader["mlflow"]


def base(name: str) -> dict:
    return yaml.safe_load((REPO / "conf/base" / name).read_text())


def test_local_parameters_and_run_params_change_only_the_keys_they_name(tmp_path):
    """Kedro's default merge would drop the rest of `train`, even for --params alone."""
    project = scratch_project(tmp_path / "project")
    (project / "conf/local/parameters_train.yml").write_text(
        "train:\n  model:\n    max_depth: 10\n"
    )
    params, _ = loaded(project, {"train": {"split": {"method": "time"}}})  # as --params gives

    expected = copy.deepcopy(base("parameters_train.yml")["train"])
    expected["model"]["max_depth"] = 10
    expected["split"]["method"] = "time"
    assert params["train"] == expected
    assert params["split"] == base("parameters_split.yml")["split"]


def test_local_mlflow_settings_change_only_the_keys_they_name(tmp_path):
    project = scratch_project(tmp_path / "project")
    (project / "conf/local/mlflow.yml").write_text("log:\n  plots: false\n")
    _, mlflow_conf = loaded(project)

    expected = base("mlflow.yml")
    expected["log"]["plots"] = False
    assert mlflow_conf == expected


def test_unknown_keys_are_the_outermost_ones_under_a_base_key():
    base_params = {"train": {"model": {"max_depth": 8}, "types": ["A"]}, "score": {"t": None}}
    given = {"train": {"model": {"max_depth": 5, "max_dept": 5}, "extra": {"deep": 1}},
             "score": {"t": {"x": 1}}, "spark": {"master": "local[2]"}}
    assert unknown_keys(given, base_params) == ["score.t.x", "train.extra", "train.model.max_dept"]
    assert unknown_keys(base_params, base_params) == []


def test_a_misspelt_parameter_stops_the_run_before_any_work(tmp_path):
    """--params and conf/local keys are checked; `spark.*` settings are not parameters."""
    project = scratch_project(tmp_path / "project")
    with pytest.raises(UnknownParameterError) as raised:
        run_kedro(project, params={"train": {"model": {"max_dept": 5}},
                                   "spark": {"executor": {"memory": "2g"}}})
    assert "train.model.max_dept (from --params; did you mean train.model.max_depth?)" in str(
        raised.value)
    (project / "conf/local/parameters_split.yml").write_text("split:\n  n_shard: 8\n")
    with pytest.raises(UnknownParameterError, match=r"split.n_shard \(from conf/local; did you "
                                                    r"mean split.n_shards\?\)"):
        run_kedro(project, ["split"])
    assert not any((project / "data").rglob("*.*")), "nothing may be written"


def test_invalid_values_are_named_by_their_full_key():
    train = base("parameters_train.yml")["train"]
    del train["model"]["max_depth"]
    train.update(class_weight="bal", transaction_types=["TRANSFER", 5])
    assert invalid_values({"train": train, "spark": {"master": 1}}, {"train": TrainParams}) == [
        ("train.transaction_types[1]", 5,
         "Input should be 'CASH_IN', 'CASH_OUT', 'DEBIT', 'PAYMENT' or 'TRANSFER'"),
        ("train.class_weight", "bal", ("Input should be 'balanced' or input should be a valid "
                                      "number")),
        ("train.model.max_depth", None, "Field required"),
    ]
    assert invalid_values({"train": base("parameters_train.yml")["train"]},
                          {"train": TrainParams}) == []


def test_a_value_of_the_wrong_type_stops_the_run_before_any_work(tmp_path):
    """Each bad value is named with where it came from: --params, the env or conf/base."""
    project = scratch_project(tmp_path / "project")
    (project / "conf/local/parameters_split.yml").write_text("split:\n  n_shards: 0\n")
    aggregate = project / "conf/base/parameters_aggregate.yml"
    aggregate.write_text(aggregate.read_text().replace("balance_tolerance: 0.01",
                                                       "balance_tolerance: -1"))
    with pytest.raises(InvalidParameterError) as raised:
        # --params sets another key of split: n_shards still comes from conf/local.
        run_kedro(project, params={"train": {"model": {"max_depth": "abc"}},
                                   "split": {"max_quarantine_fraction": 0.5}})
    assert str(raised.value).splitlines()[1:] == [
        "- split.n_shards = 0 (from conf/local): Input should be greater than or equal to 1",
        ("- aggregate.balance_tolerance = -1 (from conf/base): Input should be greater than or "
        "equal to 0"),
        "- train.model.max_depth = 'abc' (from --params): Input should be a valid integer",
        "Correct each value; conf/base/parameters_*.yml describes every parameter.",
    ]
    assert not any((project / "data").rglob("*.*")), "nothing may be written"
