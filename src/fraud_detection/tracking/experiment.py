"""The project's MLflow experiment: the one ``conf/<env>/mlflow.yml`` names, everywhere.

``mlflow run .`` creates its run before the entry point starts, in the experiment given by
``--experiment-name`` or ``MLFLOW_EXPERIMENT_NAME``, else in the one MLflow's *default
experiment providers* give for the current context, else in ``Default``; the entry point
cannot move the run. :class:`ProjectExperimentProvider` is such a provider (registered in
``pyproject.toml`` under the ``mlflow.default_experiment_provider`` entry point group): in
this project's folder, the default experiment is the configured one, so ``mlflow run .`` as
the README shows it logs where ``kedro run`` and ``make ui`` do. An explicit
``--experiment-name`` still wins.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

# MLflow loads this module while `import mlflow` runs (to register the provider): MLflow
# and the modules that import it are imported inside the functions, once it is loaded.
if TYPE_CHECKING:
    from mlflow import MlflowClient

    from fraud_detection.tracking.config import MlflowSettings

PACKAGE = "fraud_detection"


def experiment_id(settings: MlflowSettings, client: MlflowClient | None = None) -> str:
    """The configured experiment's ID; created (with the project's artifact folder for a
    local store) when it does not exist yet."""
    from mlflow import MlflowClient

    client = client or MlflowClient()
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    location = settings.artifact_location if settings.is_local_store else None
    return client.create_experiment(settings.experiment_name, artifact_location=location)


def is_project(folder: Path) -> bool:
    """Whether ``folder`` is this Kedro project's root (its pyproject names the package)."""
    try:
        with (folder / "pyproject.toml").open("rb") as handle:
            kedro = tomllib.load(handle).get("tool", {}).get("kedro", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return kedro.get("package_name") == PACKAGE and (folder / "conf").is_dir()


def project_settings(project: Path, env: str | None = None) -> MlflowSettings:
    """``conf/<env>/mlflow.yml`` over ``conf/base/mlflow.yml``, read as Kedro reads them
    (``KEDRO_ENV`` or ``local``)."""
    from kedro.config import OmegaConfigLoader

    from fraud_detection.tracking.config import MlflowSettings

    with warnings.catch_warnings():  # Kedro 1.7 calls OmegaConf's deprecated API itself
        warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated")
        env = env or os.environ.get("KEDRO_ENV") or "local"
        loader = OmegaConfigLoader(
            conf_source=str(project / "conf"), base_env="base", default_run_env=env,
            config_patterns={"mlflow": ["mlflow*", "mlflow*/**"]},
            merge_strategy={"mlflow": "soft"},
        )
        config = dict(loader["mlflow"])
    return MlflowSettings.from_config(config, project, env)


class ProjectExperimentProvider:
    """MLflow's default experiment in this project's folder: the configured one."""

    def in_context(self) -> bool:
        return is_project(Path.cwd())

    def get_experiment_id(self) -> str:
        return experiment_id(project_settings(Path.cwd()))
