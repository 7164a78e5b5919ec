"""One MLflow run per Kedro run: parameters, tags, metrics, plots, the model and its release.

The run opens before any node (after checking the tracking server answers, so an outage
fails in seconds, not after an hour of Spark), and closes as FINISHED, or FAILED with the
error text. Under ``mlflow run`` (``MLFLOW_RUN_ID`` set) the hook attaches to that run: no
second run, no rename, no experiment switch. Configuration: ``conf/<env>/mlflow.yml``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from mlflow import MlflowClient
from pydantic_core import to_jsonable_python
from pyspark.sql import DataFrame

import fraud_detection
from fraud_detection.datasets.versioned import version_record
from fraud_detection.hooks.interrupts import at_exit, interrupted
from fraud_detection.ml.registered_model import RegisteredModel
from fraud_detection.naming import base_name, is_parameters
from fraud_detection.nesting import leaves
from fraud_detection.redaction import MASK, looks_secret, redact
from fraud_detection.text import shown
from fraud_detection.tracking.background import in_background
from fraud_detection.tracking.config import MlflowSettings, export_credentials
from fraud_detection.tracking.experiment import experiment_id
from fraud_detection.tracking.online_flavor import online_settings_of
from fraud_detection.tracking.release import ModelRelease, Released, is_number, run_summary
from fraud_detection.tracking.run_record import RunRecord, RunRecords
from fraud_detection.tracking.stale_runs import end_stale_runs, process_tags
from fraud_detection.tracking.versions import locate_version

logger = logging.getLogger(__name__)

_MAX_PARAM = 6000
_MAX_ERROR_TAG = 2000  # the error tag: escaped and cut; error.txt keeps the whole text


class ParameterConflictError(ValueError):
    """The MLflow run joined holds another value of a parameter; raised before any node."""


def plain(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as plain data: Kedro gives the typed ones (``params: TrainParams``) as
    the node receives them, validated (:mod:`fraud_detection.parameters`)."""
    return to_jsonable_python(params, fallback=str)


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"model": {"max_depth": 8}}}`` -> ``{"train.model.max_depth": "8"}``.

    Keys that look like secrets are masked, so a credential never becomes a param.
    """
    return {name: MASK if looks_secret(name) else _param_text(value)
            for name, value in leaves(params, prefix)}


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_PARAM]


def read_parameters(flat: dict[str, str], inputs: set[str]) -> dict[str, str]:
    """The flattened parameters that a pipeline with free ``inputs`` reads: all of them for
    ``parameters``, the key and everything under it for ``params:<key>``."""
    if "parameters" in inputs:
        return flat
    keys = [name.removeprefix("params:") for name in inputs if name.startswith("params:")]
    return {name: value for name, value in flat.items()
            if any(name == key or name.startswith(f"{key}.") for key in keys)}


def runner_name(value: Any) -> str:
    """The runner's class name from Kedro's ``run_params["runner"]``, which is ``str()`` of
    the runner: ``<kedro.runner.sequential_runner.SequentialRunner object at 0x...>``, or
    ``None`` for the default runner."""
    text = str(value)
    if text in ("", "None"):
        return "SequentialRunner"
    found = re.fullmatch(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-fA-F]+>", text)
    return found.group(1) if found else text


class MlflowTrackingHook:
    """Opens, fills and closes the run's MLflow run; registers the trained model."""

    def __init__(self, records: RunRecords | None = None) -> None:
        self._records = records or RunRecords()  # shared with the other hooks (settings.py)
        self._record: RunRecord | None = None
        self.settings: MlflowSettings | None = None
        self._project_path = Path.cwd()
        self._env = "local"
        self._run_id: str | None = None
        self._owns_run = False
        self._params: dict[str, Any] = {}
        self._catalog = None
        self._registers = False  # this run evaluates, logs and registers a model
        self._release: ModelRelease | None = None  # this run's model, when it logs one
        self._released: Released | None = None  # what it registered, for the summary
        self._experiment_id = ""
        self._free_inputs: set[str] = set()  # datasets the run reads and no node writes
        self._param_inputs: set[str] = set()  # parameters the run's nodes read
        # After MLflow's own exit handler (registered on import), so it runs before it.
        at_exit(self._end_interrupted)

    # --- configuration --------------------------------------------------------------------
    @hook_impl
    def after_context_created(self, context) -> None:
        loader = context.config_loader
        self._project_path, self._env = Path(context.project_path), context.env or "local"
        self.settings = MlflowSettings.from_config(_section(loader, "mlflow"), self._project_path,
                                                   self._env)
        export_credentials(_section(loader, "credentials").get("mlflow"))

    @property
    def active(self) -> bool:
        return bool(self.settings and self.settings.enabled and self._run_id)

    # --- run lifecycle --------------------------------------------------------------------
    @hook_impl(wrapper=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog):
        """Check the server before the other hooks (Spark) start; open the run after them.

        Wrapping the other ``before_pipeline_run`` hooks lets the tracking store load (the
        SQLAlchemy store alone takes a second to import) in a thread while the JVM starts,
        instead of one after the other. An unreachable server still fails before Spark.
        """
        self._end_interrupted()
        self._record = self._records.open(run_params, self._project_path, self._env)
        settings, self._catalog = self.settings, catalog
        warm_up = None
        if settings is not None and settings.enabled:
            self._registers = bool(settings.log.get("model") and settings.log.get("register")
                                   and settings.role("metrics") in pipeline.all_outputs())
            inputs = pipeline.inputs()
            self._param_inputs = {name for name in inputs if is_parameters(name)}
            self._free_inputs = {base_name(name) for name in inputs - self._param_inputs}
            settings.activate()  # fails in seconds when the server does not answer
            warm_up = in_background("mlflow-warm-up", _load_store, settings, daemon=True)
        result = yield  # the other hooks: the SparkSession starts meanwhile
        if warm_up is not None:
            warm_up.result()
            self._open_run(run_params, catalog)
        return result

    def _open_run(self, run_params: dict[str, Any], catalog) -> None:
        settings = self.settings
        self._params = plain(catalog.load("parameters")) if catalog.exists("parameters") else {}
        run = self._start_run(run_params)
        self._run_id = self._record.mlflow_run_id = run.info.run_id
        self._experiment_id, self._released = run.info.experiment_id, None
        if settings.log.get("model"):
            self._release = ModelRelease(settings, self._record, self._run_id,
                                         self._params.get("train") or {}, self._free_inputs,
                                         online_settings_of(self._params))
        self._end_stale_runs(run.info.experiment_id)
        if settings.log.get("params", True):
            try:
                _log_params(self._run_id,
                            read_parameters(flatten(self._params), self._param_inputs))
            except ParameterConflictError as error:  # before any node: Kedro's hook won't run
                self.on_pipeline_error(error)
                raise
        mlflow.set_tags(self._tags(run_params.get("runner")))
        logger.info("MLflow run %s in %s", self._run_id, redact(settings.tracking_uri))

    def _start_run(self, run_params: dict[str, Any]):
        attached = os.environ.get("MLFLOW_RUN_ID")  # read first: start_run deletes it
        if attached:
            self._owns_run = True
            return mlflow.start_run(run_id=attached)
        if mlflow.active_run() is not None:  # a notebook's run: log into it, leave it open
            self._owns_run = False
            return mlflow.active_run()
        self._owns_run = True
        experiment = experiment_id(self.settings)
        name = f"{'+'.join(run_params.get('pipeline_names') or ['__default__'])}"
        return mlflow.start_run(experiment_id=experiment, run_name=name)

    def _end_stale_runs(self, experiment_id: str) -> None:
        """End the runs that killed processes left RUNNING in this run's experiment and in
        the configured one (they differ under ``mlflow run`` without ``--experiment-name``)."""
        client = MlflowClient()
        configured = client.get_experiment_by_name(self.settings.experiment_name)
        if configured is not None and configured.experiment_id != experiment_id:
            experiment = client.get_experiment(experiment_id).name
            logger.warning(
                "this MLflow run is in experiment '%s', not '%s' of conf/%s/mlflow.yml "
                "(`mlflow run --experiment-name` or MLFLOW_EXPERIMENT_NAME chose it)",
                shown(experiment), shown(configured.name), self._env)
        ids = {experiment_id, *([configured.experiment_id] if configured else [])}
        end_stale_runs(client, sorted(ids))

    def _tags(self, runner: Any) -> dict[str, str]:
        record = self._record
        git = record.git
        return {
            "kedro.run_id": record.kedro_run_id,
            "kedro.env": self._env,
            "kedro.pipelines": ",".join(record.pipelines),
            "kedro.runner": runner_name(runner),
            "git.commit": git["commit"],
            "git.dirty": git["dirty"],
            "mlflow.source.git.commit": git["commit"],
            "project.version": fraud_detection.__version__,
            **process_tags(),
        }

    @hook_impl
    def after_pipeline_run(self) -> None:
        """End the run FINISHED, then say what it made and where to open it."""
        if not self.active:
            self._end("FINISHED")
            return
        summary = run_summary(self._released, self._run_id, self._experiment_id, self.settings)
        self._end("FINISHED")
        for line in summary:
            logger.info("%s", line)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        if interrupted(error):
            self._end_interrupted()
            return
        if self.active:
            text = redact(f"{type(error).__name__}: {error}")
            mlflow.set_tag("error", shown(text, _MAX_ERROR_TAG))  # bad bytes escaped, cut
            mlflow.log_text(text.encode("utf-8", "backslashreplace").decode(), "error.txt")
        self._end("FAILED")

    def _end_interrupted(self) -> None:
        """End as KILLED a run this hook opened that neither finished nor failed.

        On Ctrl-C (``KeyboardInterrupt``) Kedro calls no hook, and MLflow's exit handler
        would close the run as FINISHED. Called at exit, when a notebook's next run starts in
        the same process, and when py4j reported the Ctrl-C as an error of its own. The model
        logging and the champion's scoring are not waited for.
        """
        if self.active and self._owns_run:
            mlflow.set_tag("error", "KeyboardInterrupt: interrupted before it finished")
        if self._release is not None:
            self._release.abandon()
        self._end("KILLED")

    def _end(self, status: str) -> None:
        if self._release is not None:  # ended before registering: let its threads finish
            self._release.close()
            self._release = None
        if self.active and self._owns_run:
            mlflow.end_run(status=status)
        self._run_id = None

    # --- what the run produced ------------------------------------------------------------
    @hook_impl
    def after_node_run(self, node, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        if not self.active:
            return
        roles = self.settings.roles
        release = self._release
        if (rows := outputs.get(roles.get("evaluation_data"))) is not None and self._registers:
            release.evaluation_rows(rows)  # the champion's score is looked for meanwhile
        if outputs.get(roles.get("model")) is not None and release is not None:
            # The input example is training rows; the model is logged once Kedro saved it.
            release.training_rows(next(
                (v for v in inputs.values() if isinstance(v, DataFrame)), None))
        metrics = outputs.get(roles.get("metrics"))
        if metrics is None:
            return
        mlflow.log_metrics(_numeric(metrics))
        model = inputs.get(roles.get("model"))
        evaluation = inputs.get(roles.get("evaluation_data"))
        if model is not None and evaluation is not None and release is not None:
            self._released = release.publish(model, evaluation, metrics)
            self._release = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if not self.active:
            return
        if dataset_name == self.settings.role("model") and self._release is not None:
            # Logged while the next nodes evaluate it, from the files Spark just wrote.
            saved = version_record(self._catalog.get(dataset_name), saved=True)
            self._release.model_saved(
                data, saved.path if saved is not None and saved.kind == "kedro" else None)
        if dataset_name == self.settings.role("plots") and self.settings.log.get("plots"):
            self._log_plots(dataset_name, data)
        if dataset_name in (self.settings.role("reports") or []):
            mlflow.log_dict(data, f"reports/{dataset_name}.json")
        if dataset_name in (self.settings.role("run_metrics") or []):
            mlflow.log_metrics(_numeric(data))

    def _log_plots(self, dataset_name: str, figures: dict[str, Any]) -> None:
        """The PNG files Kedro just saved; the figures are drawn again only when those
        files are not on a local disk."""
        located = locate_version(dataset_name, self._catalog.get(dataset_name), saved=True)
        folder = located.files[0] if located and located.files else None
        if folder is not None and folder.is_dir():
            mlflow.log_artifacts(str(folder), "plots")
            return
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}")

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        """A scoring run names the registered model version that scored."""
        if self.active and isinstance(data, RegisteredModel):
            mlflow.set_tags({
                "score.model": data.source_uri,
                "score.model_version": str(data.version),
                "score.model_coordinate": data.coordinate or "",
                "score.model_run_id": data.run_id or "",
            })


# SQLAlchemy and MLflow's database stores: the slowest imports of a local store's first use.
_LOCAL_STORE_MODULES = (
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.tracking.sqlalchemy_store",
)


def _load_store(settings: MlflowSettings) -> None:
    """Import and open the tracking store ahead of use; any error surfaces when it is used."""
    try:
        if settings.is_local_store:
            for module in _LOCAL_STORE_MODULES:
                importlib.import_module(module)
        MlflowClient(tracking_uri=settings.tracking_uri)
    except Exception:  # the run start reports it properly
        logger.debug("warming up the MLflow store failed", exc_info=True)


def _section(loader, key: str) -> dict[str, Any]:
    try:
        return dict(loader[key] or {})
    except (KeyError, MissingConfigException):
        return {}


def _numeric(metrics: dict[str, Any]) -> dict[str, float]:
    """Numbers of a (nested) metrics dict, flattened: ``confusion_matrix.tp`` and so on."""
    return {name: float(value) for name, value in leaves(metrics) if is_number(value)}


def _log_params(run_id: str, params: dict[str, str]) -> None:
    """Log in batches of 100 (MLflow's limit), skipping keys the run holds with that value.

    ``mlflow run`` logs its entry-point parameters first. A key the run holds with another
    value is an error: MLflow parameters cannot change, and keeping the old value would
    record parameters this run did not use.
    """
    client = MlflowClient()
    existing = client.get_run(run_id).data.params
    changed = sorted(k for k, v in params.items() if existing.get(k, v) != v)
    if changed:
        values = "; ".join(f"{k} = {_clip(existing[k])} there, {_clip(params[k])} here"
                           for k in changed)
        raise ParameterConflictError(
            f"MLflow run {run_id} already holds other values of {len(changed)} parameter(s): "
            f"{values}. MLflow parameters cannot change: run this in a new MLflow run "
            "(unset MLFLOW_RUN_ID, or end the active run first)"
        )
    fresh = [mlflow.entities.Param(k, v) for k, v in params.items() if k not in existing]
    for start in range(0, len(fresh), 100):
        client.log_batch(run_id, params=fresh[start : start + 100])


def _clip(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else f"{value[:limit]}...")
