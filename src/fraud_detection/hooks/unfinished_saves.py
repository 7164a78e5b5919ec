"""A run that fails or is stopped takes back the dataset versions it began and did not finish.

A versioned dataset saves to ``<filepath>/<version>/<name>``, and Kedro loads the newest
``<version>`` folder holding ``<name>``. A Spark write that fails or is stopped with Ctrl-C
leaves that folder behind, empty (Spark removed its ``_temporary`` files) or with only
uncommitted ``_temporary`` files: it becomes the newest version, and the next run that reads
the dataset (``kedro run --pipelines train``, ``--from-nodes``) stops with Spark's "Unable
to infer schema". This hook notes the version folder of each save as it starts and removes
it when the run fails or is interrupted before the save completed, so that the dataset's
newest version is again the last complete one.

Ctrl-C (``KeyboardInterrupt``) calls no Kedro hook, and pyspark's own Ctrl-C handler cannot
cancel the Spark job while the main thread is waiting on it: the job goes on writing in the
JVM. So, at exit (or, in a notebook, when the next run starts), the Spark jobs still running
are cancelled and waited for before the folders go.

``kill -9`` runs no Python code at all: for that, each save's version folder holds a marker
while the save runs (:mod:`fraud_detection.datasets.complete_versions`), and loads skip a
version whose marker names a process that no longer runs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl
from pyspark import SparkContext

from fraud_detection.datasets.complete_versions import filesystem, remove_marker, write_marker
from fraud_detection.datasets.versioned import stored_dataset, version_record
from fraud_detection.hooks.interrupts import at_exit

logger = logging.getLogger(__name__)

_JOBS_ENDING_SECONDS = 60


class UnfinishedSavesHook:
    """Removes the version folders of saves that a failed or interrupted run left behind."""

    def __init__(self) -> None:
        self._catalog = None
        self._saving: dict[str, tuple[Any, str]] = {}  # name -> (dataset, version folder)
        at_exit(self._remove_unfinished)

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self) -> None:
        self._remove_unfinished()  # a notebook's previous run, stopped with Ctrl-C

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        folder = self._version_folder(dataset_name)
        if folder is not None:
            self._saving[dataset_name] = folder
            write_marker(filesystem(folder[0]), folder[1])

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        saved = self._saving.pop(dataset_name, None)
        if saved is not None:
            remove_marker(filesystem(saved[0]), saved[1])

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._remove_unfinished()

    def _version_folder(self, name: str) -> tuple[Any, str] | None:
        """The dataset and the ``<filepath>/<version>`` folder this save writes, if versioned."""
        if self._catalog is None or name not in self._catalog:
            return None
        dataset = stored_dataset(self._catalog.get(name))
        record = version_record(dataset, saved=True)
        if record is None or not record.immutable:  # not a Kedro versioned dataset
            return None
        return dataset, record.path.rsplit("/", 1)[0]  # keeps a protocol's "//"

    def _remove_unfinished(self) -> None:
        unfinished, self._saving = self._saving, {}
        if not unfinished:
            return
        _end_spark_jobs()
        for name, (dataset, folder) in unfinished.items():
            try:
                fs = filesystem(dataset)
                if fs.exists(folder):
                    fs.rm(folder, recursive=True)
                    logger.warning("%s: removed the version this run did not finish saving, "
                                   "%s", name, folder)
            except Exception as error:  # noqa: BLE001 - report it and go on with the others
                logger.error("%s: could not remove the unfinished version %s (%s); delete it, "
                             "or its dataset's latest version cannot be loaded", name, folder,
                             error)


def _end_spark_jobs() -> None:
    """Cancel the SparkContext's jobs and wait until no task runs: a task still running
    after its job was cancelled creates its attempt folders again."""
    context = SparkContext._active_spark_context
    if context is None:  # Spark Connect: the server ends the jobs of a closed session
        return
    try:
        context.cancelAllJobs()
        executors = context._jsc.sc().statusTracker()
        deadline = time.monotonic() + _JOBS_ENDING_SECONDS
        while time.monotonic() < deadline and (
            context.statusTracker().getActiveJobsIds()
            or any(executor.numRunningTasks() for executor in executors.getExecutorInfos())
        ):
            time.sleep(0.1)
    except Exception as error:  # noqa: BLE001 - a JVM already gone runs no job either
        logger.warning("could not cancel the Spark jobs before removing unfinished versions: "
                       "%s", error)
