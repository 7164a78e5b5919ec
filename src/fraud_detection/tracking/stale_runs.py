"""MLflow runs left RUNNING by a process that was killed (``kill -9``, the OOM killer).

A killed process ends nothing: its MLflow run stays RUNNING for ever, and the UI and the
provenance commands show a run in progress that will never finish. Each run records the
host, process ID and process start time that run it (``kedro.host``, ``kedro.pid``,
``kedro.pid_started``); the next run of the project ends, as FAILED, every RUNNING run of
its experiment whose process no longer runs on this host. A run of another host cannot be
checked from here and is left alone.
"""

from __future__ import annotations

import logging

from mlflow import MlflowClient

from fraud_detection.datasets.complete_versions import process_identity, process_runs

logger = logging.getLogger(__name__)

HOST, PID, STARTED, ENDED_BY = "kedro.host", "kedro.pid", "kedro.pid_started", "kedro.ended_by"


def process_tags() -> dict[str, str]:
    """The tags that let a later run tell whether this run's process still runs."""
    identity = process_identity()
    return {HOST: identity["host"], PID: str(identity["pid"]),
            STARTED: repr(identity["started"])}


def end_stale_runs(client: MlflowClient, experiment_ids: list[str]) -> list[str]:
    """End as FAILED the RUNNING runs whose process no longer runs here; their IDs."""
    ended, elsewhere = [], []
    runs = client.search_runs(experiment_ids, "attributes.status = 'RUNNING'")
    for run in runs:
        tags = run.data.tags
        if PID not in tags:  # not a run of this project's hook (or not yet tagged)
            continue
        runs_now = _runs(tags)
        if runs_now is None:
            elsewhere.append(f"{run.info.run_id} ({tags.get(HOST)})")
        elif not runs_now:
            ended.append(_end(client, run.info.run_id, tags))
    if elsewhere:
        logger.warning("MLflow runs RUNNING on other hosts, left alone (this host cannot "
                       "tell whether their processes still run): %s", ", ".join(elsewhere))
    return ended


def _runs(tags: dict[str, str]) -> bool | None:
    try:
        return process_runs(tags.get(HOST, ""), int(tags[PID]), float(tags.get(STARTED, 0)))
    except ValueError:
        return False  # tags this project never writes: not a live process of it


def _end(client: MlflowClient, run_id: str, tags: dict[str, str]) -> str:
    reason = f"stale: process {tags[PID]} on host {tags.get(HOST)} no longer runs"
    client.set_tag(run_id, ENDED_BY, reason)
    client.set_terminated(run_id, "FAILED")
    logger.warning("ended MLflow run %s as FAILED, %s (killed before it finished)", run_id,
                   reason)
    return run_id
