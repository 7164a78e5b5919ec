"""MLflow's default experiment in the project's folder is the one mlflow.yml names.

The provider is loaded by MLflow itself from the installed entry point, as `mlflow run`
loads it; a real SQLite store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mlflow import MlflowClient
from mlflow.tracking._tracking_service.utils import _use_tracking_uri
from mlflow.tracking.default_experiment import registry

from fraud_detection.tracking.experiment import ProjectExperimentProvider
from tests.kedro_project import scratch_project


@pytest.fixture
def store(tmp_path, monkeypatch) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "KEDRO_ENV"):
        monkeypatch.delenv(name, raising=False)
    # An earlier test's mlflow.set_tracking_uri outranks the variable in this process: use
    # this store for the test and restore whatever was set after it.
    with _use_tracking_uri(uri):
        yield uri


def test_in_the_project_folder_the_default_experiment_is_the_configured_one(
    tmp_path, store, monkeypatch
):
    project = scratch_project(tmp_path / "project")
    (project / "conf/local/mlflow.yml").write_text("experiment_name: from-mlflow-yml\n")
    assert any(isinstance(p, ProjectExperimentProvider)
               for p in registry._default_experiment_provider_registry)
    monkeypatch.chdir(project)

    experiment = MlflowClient(store).get_experiment(registry.get_experiment_id())
    assert experiment.name == "from-mlflow-yml"
    assert experiment.artifact_location == (project / "mlartifacts").resolve().as_uri()
    assert registry.get_experiment_id() == experiment.experiment_id  # found, not made again


def test_elsewhere_mlflows_own_default_stays(tmp_path, store, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert registry.get_experiment_id() == "0"
