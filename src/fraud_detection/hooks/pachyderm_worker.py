"""Inside a Pachyderm pipeline worker: the MLflow run names the job, and the job's output
commit names the run.

pachd runs a stage's ``transform.cmd`` once per datum with these environment variables
(pachyderm/pachyderm ``src/server/worker/driver/driver.go``: ``UserCodeEnv`` sets
``PACH_JOB_ID``, ``PACH_DATUM_ID`` and ``PACH_OUTPUT_COMMIT_ID`` from
``src/client/pps.go``'s ``JobIDEnv``, ``DatumIDEnv``, ``OutputCommitIDEnv``; the worker pod
has ``PPS_PIPELINE_NAME``, ``src/server/cmd/worker/main.go``). The hook is inert outside a
worker (no ``PACH_JOB_ID``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

# MLflow tag -> the worker's environment variable.
WORKER_TAGS = {
    "pachyderm.job_id": "PACH_JOB_ID",
    "pachyderm.pipeline": "PPS_PIPELINE_NAME",
    "pachyderm.datum_id": "PACH_DATUM_ID",
    "pachyderm.output_commit": "PACH_OUTPUT_COMMIT_ID",
}
PFS_ROOT_ENV = "FRAUD_DETECTION_PFS_ROOT"
PROVENANCE_DIR = ".provenance"


def pfs_root() -> str:
    """/pfs, or ``$FRAUD_DETECTION_PFS_ROOT`` (a worker contract run under a temp folder)."""
    return os.environ.get(PFS_ROOT_ENV) or "/pfs"


def worker_tags() -> dict[str, str]:
    """The Pachyderm IDs of this worker process; empty outside a worker."""
    if not os.environ.get("PACH_JOB_ID"):
        return {}
    return {tag: os.environ[var] for tag, var in WORKER_TAGS.items() if os.environ.get(var)}


class PachydermWorkerHook:
    """Tags the run with the worker's job, pipeline, datum and output commit; writes
    ``/pfs/out/.provenance/<pipeline>-<datum>.json`` naming the run once the run succeeded
    (a failed datum's /pfs/out is discarded by pachd)."""

    def __init__(self) -> None:
        self._tags: dict[str, str] = {}
        self._tagged = False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self._tags, self._tagged = worker_tags(), False

    @hook_impl
    def before_node_run(self) -> None:
        # The MLflow hook opens its run after every before_pipeline_run: tag at the first node.
        if self._tags and not self._tagged and mlflow.active_run() is not None:
            mlflow.set_tags(self._tags)
            self._tagged = True

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        if not self._tags:
            return
        run = mlflow.active_run()
        record = {
            "mlflow_run_id": run.info.run_id if run else None,
            "kedro_run_id": str(run_params.get("run_id") or run_params.get("session_id")),
            "pipelines": run_params.get("pipeline_names") or ["__default__"],
            **{var: os.environ.get(var) for var in WORKER_TAGS.values()},
        }
        if run is not None:
            record["mlflow_tracking_uri"] = _safe_uri(mlflow.get_tracking_uri())
        name = f"{self._tags.get('pachyderm.pipeline', 'stage')}-" \
               f"{self._tags.get('pachyderm.datum_id', 'datum')}.json"
        target = Path(pfs_root()) / "out" / PROVENANCE_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        logger.info("Pachyderm job %s: MLflow run %s written to %s",
                    self._tags.get("pachyderm.job_id"), record["mlflow_run_id"], target)


def _safe_uri(uri: str) -> str:
    """The tracking URI without any user:password part."""
    scheme, sep, rest = uri.partition("://")
    return f"{scheme}{sep}{rest.split('@', 1)[-1]}" if sep and "@" in rest.split("/")[0] else uri
