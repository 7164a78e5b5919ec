"""Inside a Pachyderm pipeline worker: one MLflow run per job, shared by the job's datums,
and the job's output commit names that run.

pachd runs a stage's ``transform.cmd`` once per datum with these environment variables
(pachyderm/pachyderm ``src/server/worker/driver/driver.go``: ``UserCodeEnv`` sets
``PACH_JOB_ID``, ``PACH_DATUM_ID`` and ``PACH_OUTPUT_COMMIT_ID`` from
``src/client/pps.go``'s ``JobIDEnv``, ``DatumIDEnv``, ``OutputCommitIDEnv``, and for each
input ``<name>`` = the datum's path under /pfs and ``<name>_COMMIT``; the worker pod has
``PPS_PIPELINE_NAME``, ``src/server/cmd/worker/main.go``). The hooks are inert outside a
worker (no ``PACH_JOB_ID``).

Two hooks share one state, because a datum's part of the job's run has a start and an end
on both sides of the MLflow hook (``settings.HOOKS``):

- :class:`PachydermWorkerHook` (runs before the MLflow hook): finds or makes the job's run
  (:func:`fraud_detection.tracking.pachyderm_job_run.elect_job_run`), marks the datum
  RUNNING and hands the run to the MLflow hook through ``MLFLOW_RUN_ID`` (which it resumes);
  at the end writes ``/pfs/out/.provenance/<pipeline>-<datum>.json`` naming the run;
- :class:`PachydermJobEndHook` (runs after the MLflow hook ended its part): marks the datum
  FINISHED or FAILED and gives the run the status all its datums give.

What each dataset reads from ``/pfs/<input>`` or writes to ``/pfs/out`` is tagged on the run
as the commit pachd names (``kedro.input|output.<dataset>``, through the provenance hook and
:func:`fraud_detection.tracking.pfs_mounts.as_commit`), so ``kedro provenance data <dataset>
<commit>`` answers for a job's commits.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from fraud_detection.hooks.interrupts import at_exit
from fraud_detection.redaction import redact
from fraud_detection.text import shown
from fraud_detection.tracking.config import MlflowSettings
from fraud_detection.tracking.experiment import experiment_id
from fraud_detection.tracking.pachyderm_job_run import (
    FAILED,
    FINISHED,
    PachydermJob,
    elect_job_run,
    end_datum,
    start_datum,
)
from fraud_detection.tracking.pfs_mounts import PROVENANCE_DIR, pfs_file, pfs_root

logger = logging.getLogger(__name__)

# MLflow tag -> the worker's environment variable: the job's run carries the job-wide ones;
# each datum has its own tags (pachyderm.datum.<PACH_DATUM_ID>).
WORKER_TAGS = {
    "pachyderm.job_id": "PACH_JOB_ID",
    "pachyderm.pipeline": "PPS_PIPELINE_NAME",
    "pachyderm.output_commit": "PACH_OUTPUT_COMMIT_ID",
}
WORKER_ENV_VARS = (*WORKER_TAGS.values(), "PACH_DATUM_ID")
_MAX_ERROR_TAG = 2000


def worker_tags() -> dict[str, str]:
    """The job-wide Pachyderm IDs of this worker process; empty outside a worker."""
    if not os.environ.get("PACH_JOB_ID"):
        return {}
    return {tag: os.environ[var] for tag, var in WORKER_TAGS.items() if os.environ.get(var)}


def datum_source() -> str | None:
    """What the datum reads, as ``<input>@<commit>:<path>``: pachd sets ``<input>`` to the
    datum's path under /pfs/<input> and ``<input>_COMMIT`` to the input commit."""
    for name in sorted(os.environ):
        if name.endswith("_COMMIT") and not name.startswith("PACH_"):
            mount = name.removesuffix("_COMMIT")
            found = pfs_file(os.environ.get(mount, ""))
            if found is not None and found.repo == mount:
                return f"{found.repo}@{found.commit}:{found.path}"
    return None


class PachydermWorkerHook:
    """Joins the datum to its job's MLflow run; writes the run ID into ``/pfs/out``."""

    def __init__(self) -> None:
        self._settings: MlflowSettings | None = None
        self._tags: dict[str, str] = {}
        self._job_run: str | None = None
        self._datum = ""
        self._error: str | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._settings = None
        if not os.environ.get("PACH_JOB_ID"):  # not a pachd worker: nothing to do
            return
        try:
            config = dict(context.config_loader["mlflow"] or {})
        except (KeyError, MissingConfigException):
            config = {}
        self._settings = MlflowSettings.from_config(config, Path(context.project_path),
                                                    context.env)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        # After the MLflow hook checked the server (it wraps this hook point), before it
        # opens its run: the run it opens is the job's.
        self._tags, self._job_run, self._error = worker_tags(), None, None
        self._datum = os.environ.get("PACH_DATUM_ID") or "datum"
        settings = self._settings
        if not self._tags or settings is None or not settings.enabled:
            return
        job = PachydermJob(self._tags["pachyderm.job_id"], self._tags.get("pachyderm.pipeline", ""),
                           self._tags.get("pachyderm.output_commit"))
        client = MlflowClient()
        self._job_run = elect_job_run(client, _experiment(settings, client), job)
        start_datum(client, self._job_run, self._datum, datum_source())
        os.environ["MLFLOW_RUN_ID"] = self._job_run
        logger.info("Pachyderm job %s, datum %s: MLflow run %s (one run per job)",
                    job.job_id, self._datum, self._job_run)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        if self._job_run is not None:
            self._error = shown(redact(f"{type(error).__name__}: {error}"), _MAX_ERROR_TAG)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        if not self._tags:
            return
        run = mlflow.active_run()
        record = {
            "mlflow_run_id": run.info.run_id if run else None,
            "kedro_run_id": str(run_params.get("run_id") or run_params.get("session_id")),
            "pipelines": run_params.get("pipeline_names") or ["__default__"],
            **{var: os.environ.get(var) for var in WORKER_ENV_VARS},
        }
        if run is not None:
            record["mlflow_tracking_uri"] = redact(mlflow.get_tracking_uri())
        name = f"{self._tags.get('pachyderm.pipeline', 'stage')}-{self._datum}.json"
        target = Path(pfs_root()) / "out" / PROVENANCE_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        logger.info("Pachyderm job %s: MLflow run %s written to %s",
                    self._tags.get("pachyderm.job_id"), record["mlflow_run_id"], target)

    def end_datum(self, state: str) -> None:
        """After the MLflow hook ended its part: the datum's state, then the run's status."""
        run_id, self._job_run = self._job_run, None
        if run_id is None:
            return
        if os.environ.get("MLFLOW_RUN_ID") == run_id:  # the MLflow hook never took it
            del os.environ["MLFLOW_RUN_ID"]
        status = end_datum(MlflowClient(), run_id, self._datum, state,
                           self._error if state == FAILED else None)
        logger.info("Pachyderm datum %s %s; the job's MLflow run %s is %s", self._datum,
                    state, run_id, status)


class PachydermJobEndHook:
    """Registered before the MLflow hook in ``settings.HOOKS``, so it runs after the MLflow
    hook ended the datum's part of the job's run (the hook ends it FINISHED or FAILED for
    this datum alone; the job's status is settled here from every datum's state)."""

    def __init__(self, worker: PachydermWorkerHook) -> None:
        self._worker = worker
        # A datum whose run stopped before any pipeline hook could end it (another hook's
        # before_pipeline_run failed, Ctrl-C) is FAILED at exit. Registered before the
        # MLflow hook's exit handler (settings.HOOKS), so it runs after that one.
        at_exit(self._at_exit)

    def _at_exit(self) -> None:
        try:
            self._worker.end_datum(FAILED)
        except (MlflowException, OSError) as error:  # at exit: say it; the process ends
            logger.warning("could not mark the Pachyderm datum FAILED on its job's MLflow "
                           "run: %s", redact(str(error)))

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._worker.end_datum(FINISHED)

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._worker.end_datum(FAILED)


def _experiment(settings: MlflowSettings, client: MlflowClient) -> str:
    """The configured experiment; two datums creating it at once both get it."""
    try:
        return experiment_id(settings, client)
    except MlflowException:
        found = client.get_experiment_by_name(settings.experiment_name)
        if found is None:
            raise
        return found.experiment_id

