"""An environment's parameters and MLflow settings override only the keys they name."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from tests.kedro_project import REPO, scratch_project


def loaded(project: Path, runtime_params: dict | None = None):
    bootstrap_project(project)
    with KedroSession.create(project_path=project, runtime_params=runtime_params) as session:
        context = session.load_context()
        return context.params, context.config_loader["mlflow"]


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
