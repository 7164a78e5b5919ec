"""One MLflow run per Pachyderm job, shared by every datum of the job.

pachd starts a stage's ``transform.cmd`` once per datum, on any of the pipeline's workers,
several at once, and tells no process when the job starts or ends. So each datum process
finds the job's run itself (:func:`elect_job_run`), marks its own datum on it
(``pachyderm.datum.<datum_id>`` = RUNNING, then FINISHED or FAILED, with
``pachyderm.datum.<datum_id>.input``), and after each datum the run's status is derived from
all its datum tags (:func:`settle_status`): FAILED if any datum failed, else RUNNING while
any datum runs, else FINISHED. A failed datum is never hidden behind a FINISHED run.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import RunTag, ViewType
from mlflow.exceptions import MlflowException

from fraud_detection.tracking.stale_runs import HOST, PID, STARTED, process_tags

logger = logging.getLogger(__name__)

JOB_TAG, PIPELINE_TAG, OUTPUT_TAG = ("pachyderm.job_id", "pachyderm.pipeline",
                                     "pachyderm.output_commit")
DATUM_PREFIX = "pachyderm.datum."
RUNNING, FINISHED, FAILED = "RUNNING", "FINISHED", "FAILED"
# How long a racer waits before its deciding search: longer than a run creation takes to
# reach the store, plus the clock difference between two workers (see elect_job_run).
SETTLE_SECONDS = 2.0
_ID = re.compile(r"[A-Za-z0-9_-]+")


class JobRunError(RuntimeError):
    """The job's MLflow run could not be found or made: the message says what to check."""


@dataclass(frozen=True)
class PachydermJob:
    """The job a worker process belongs to, from pachd's worker environment."""

    job_id: str
    pipeline: str
    output_commit: str | None = None

    def __post_init__(self) -> None:
        for name, value in (("PACH_JOB_ID", self.job_id), ("PPS_PIPELINE_NAME", self.pipeline)):
            if not _ID.fullmatch(value or ""):
                raise JobRunError(f"{name}={value!r} is not a Pachyderm job or pipeline ID "
                                  "(letters, digits, '-' and '_'): is this a pachd worker?")

    @property
    def search(self) -> str:
        """The MLflow filter that finds the job's run (IDs are checked: no quoting needed)."""
        return (f"tags.`{JOB_TAG}` = '{self.job_id}' "
                f"and tags.`{PIPELINE_TAG}` = '{self.pipeline}'")

    @property
    def tags(self) -> dict[str, str]:
        tags = {JOB_TAG: self.job_id, PIPELINE_TAG: self.pipeline}
        return {**tags, OUTPUT_TAG: self.output_commit} if self.output_commit else tags


def datum_tag(datum_id: str) -> str:
    """``pachyderm.datum.<datum_id>``: the datum's state on the job's run."""
    return f"{DATUM_PREFIX}{datum_id}"


def _candidates(client: MlflowClient, experiment_id: str, job: PachydermJob) -> list:
    runs = client.search_runs([experiment_id], job.search, run_view_type=ViewType.ACTIVE_ONLY,
                              max_results=1000)
    return sorted(runs, key=lambda run: (run.info.start_time, run.info.run_id))


def elect_job_run(client: MlflowClient, experiment_id: str, job: PachydermJob, *,
                  settle: float = SETTLE_SECONDS, clock: Callable[[], float] = time.time,
                  sleep: Callable[[float], None] = time.sleep) -> str:
    """The ID of the job's run: the one that exists, else one this process creates.

    The election, over a store that orders every create, search and delete (a database
    behind the tracking server):

    1. Search the experiment for runs tagged with this job and pipeline. If none, create
       one with those tags (one atomic insert), its ``start_time`` read from this clock.
    2. Wait until ``settle`` seconds have passed since the oldest candidate's start time.
    3. Search again. The winner is the oldest candidate by ``(start_time, run_id)``; a
       racer whose own run lost deletes it, and every racer resumes the winner.

    Every racer makes its decision from a search done after its own create, so the last
    racer to search sees every candidate. Searches and a total order alone cannot make two
    racers agree (a racer whose search came before another's create cannot know about it:
    with reads and writes only, two processes cannot reach consensus), so step 2 adds the
    one timing assumption: a create reaches the store within ``settle`` seconds of the
    start time it carries, clocks included. Then no run older than the winner can appear
    after a deciding search, so all racers choose the same winner, whose creator never
    deletes it; the ``run_id`` tie-break orders two runs created in the same millisecond
    the same way for everyone. Only the first datums of a job wait; later ones find the
    winner already older than ``settle``.
    """
    for _ in range(3):
        found, mine = _candidates(client, experiment_id, job), None
        if not found:
            mine = client.create_run(experiment_id, start_time=int(clock() * 1000),
                                     tags=job.tags, run_name=f"{job.pipeline}@{job.job_id}")
            found = [mine]
            mine = mine.info.run_id
        wait = found[0].info.start_time / 1000 + settle - clock()
        if wait > 0:
            sleep(wait)
        decided = _candidates(client, experiment_id, job)
        if not decided:  # someone deleted every candidate by hand: start over
            continue
        winner = decided[0].info.run_id
        if mine is not None and mine != winner:
            client.delete_run(mine)
            logger.info("Pachyderm job %s: another worker's run %s is the job's run; "
                        "deleted this worker's %s", job.job_id, winner, mine)
        return winner
    raise JobRunError(f"the MLflow run of Pachyderm job {job.job_id} ({job.pipeline}) "
                      "disappeared three times while this worker looked for it: are runs of "
                      "this experiment being deleted?")


def start_datum(client: MlflowClient, run_id: str, datum_id: str, source: str | None) -> None:
    """Mark the datum RUNNING (and what it reads) before the run is resumed as RUNNING, and
    name this process as the run's process, so that the stale-run check that runs when the
    run resumes sees a live process (not the exited one of the job's previous datum)."""
    tags = {datum_tag(datum_id): RUNNING, **process_tags()}
    if source:
        tags[f"{datum_tag(datum_id)}.input"] = source
    client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])


def end_datum(client: MlflowClient, run_id: str, datum_id: str, state: str,
              error: str | None = None) -> str:
    """Mark the datum FINISHED or FAILED, drop the process tags, settle the run's status."""
    tags = {datum_tag(datum_id): state}
    if error:
        tags[f"{datum_tag(datum_id)}.error"] = error
    client.log_batch(run_id, tags=[RunTag(key, value) for key, value in tags.items()])
    _release_process(client, run_id)
    return settle_status(client, run_id)


def _release_process(client: MlflowClient, run_id: str) -> None:
    """A job's run has no one process: once its datum ended, no process may judge it.

    The stale-run check (:mod:`fraud_detection.tracking.stale_runs`) ends a RUNNING run
    whose recorded process no longer runs on this host; a later datum on this worker would
    otherwise end the job's run while another worker's datum still runs. Without the
    process tags the check leaves the run alone.
    """
    for key in (PID, HOST, STARTED):
        try:
            client.delete_tag(run_id, key)
        except MlflowException:  # another datum removed it first
            pass


def job_status(tags: Mapping[str, str]) -> str:
    """FAILED if any datum failed, else RUNNING while any runs, else FINISHED."""
    states = {value for key, value in tags.items()
              if key.startswith(DATUM_PREFIX) and "." not in key[len(DATUM_PREFIX):]}
    if FAILED in states:
        return FAILED
    return RUNNING if RUNNING in states else FINISHED


def settle_status(client: MlflowClient, run_id: str, attempts: int = 10) -> str:
    """Write the status the datum tags give, then read again until the two agree.

    Each datum writes its own tag before it settles, and checks after each status write,
    so whichever status write comes last was checked against a read that came after every
    datum tag written before it: the run ends with the status all datum tags give.
    """
    written = None
    for _ in range(attempts):
        status = job_status(client.get_run(run_id).data.tags)
        if status == written:
            return status
        if status == RUNNING:
            client.update_run(run_id, status=RUNNING)
        else:
            client.set_terminated(run_id, status)
        written = status
    logger.warning("MLflow run %s: its datums' states kept changing; its status is %s",
                   run_id, written)
    return written
