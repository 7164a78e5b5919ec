"""Which data versions a run read and wrote, logged both ways.

Forward (run -> data): the run's inputs (the versions it read that no node of the run
produced) and its outputs (every version it saved) become ``mlflow.data`` inputs of the
MLflow run (context ``input`` or ``output``) whose source names the exact version, plus a
``kedro.input.<dataset>`` / ``kedro.output.<dataset>`` tag holding the version (a
registered model that a scoring run loads gets the tag alone: its version number). A
version the run saved and then read back (``model_input_table`` for training) is an output
of the run, not an input: the two stay apart.
Backward (data -> run): each output names the MLflow run and exactly the stored versions
and parameters it was derived from (:mod:`fraud_detection.tracking.lineage`): a
``provenance.json`` beside each local versioned output, and, for Pachyderm, the commit's
description and provenance file (set here, before the dataset saves its commit). A run
stopped with Ctrl-C, which calls no Kedro hook, writes its records (status ``KILLED``) for
the versions it completed when the next run of the process starts or the process exits.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl
from kedro.pipeline import Node, Pipeline

from fraud_detection.datasets.versioned import TakesRunMetadata, stored_dataset
from fraud_detection.hooks.interrupts import at_exit, interrupted
from fraud_detection.naming import RECORD, base_name, is_parameters
from fraud_detection.tracking.lineage import Lineage, in_memory_datasets, node_lineage
from fraud_detection.tracking.records import derivation, input_commits
from fraud_detection.tracking.run_record import RunRecord, RunRecords
from fraud_detection.tracking.sources import mlflow_dataset
from fraud_detection.tracking.versions import (
    BackgroundDigests,
    DatasetVersion,
    LocatedVersion,
    locate_version,
    with_digest,
)

logger = logging.getLogger(__name__)

__all__ = ["ProvenanceHook"]


class ProvenanceHook:
    """Collects dataset versions during a run and links them to the MLflow run."""

    def __init__(self, records: RunRecords | None = None) -> None:
        self._records = records or RunRecords()  # shared with the other hooks (settings.py)
        self._run: RunRecord | None = None  # this run's, while it runs
        self._catalog = None
        self._pipeline = Pipeline([])
        self._project_path = Path.cwd()
        self._env = "local"
        self._running = False  # between a run's start and its records
        self.inputs: dict[str, DatasetVersion] = {}  # read, and produced by no node of the run
        self.outputs: dict[str, DatasetVersion] = {}  # saved by the run
        self._read: dict[str, DatasetVersion] = {}  # every version the run's nodes read
        self._produced: set[str] = set()  # base names of the datasets the run's nodes write
        self._lineage: dict[str, Lineage] = {}  # per node
        self._derived: dict[str, Lineage] = {}  # output -> what its node derived it from
        self._parameters: dict[str, Any] = {}  # the values the run's nodes read
        # Versions whose content digest is still being computed, in the order they came.
        self._pending: list[tuple[str, bool, LocatedVersion, Future]] = []
        self._digests = BackgroundDigests()

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path, self._env = Path(context.project_path), context.env or "local"

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline) -> None:
        self._finish_interrupted()  # the process's previous run, stopped with Ctrl-C
        # Registered now, after the MLflow hook's own exit handler: it runs before it,
        # while an interrupted run's MLflow run is still open.
        at_exit(self._finish_interrupted)
        self.inputs, self.outputs, self._read, self._pending = {}, {}, {}, []
        self._lineage, self._derived, self._parameters = {}, {}, {}
        self._pipeline = pipeline
        self._produced = {base_name(name) for name in pipeline.all_outputs()}
        self._digests = BackgroundDigests()
        self._run = self._records.open(run_params, self._project_path, self._env)
        self._running = True

    @hook_impl
    def before_node_run(self, node, inputs: dict[str, Any]) -> None:
        self._parameters.update({k: v for k, v in inputs.items() if is_parameters(k)})

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str) -> None:
        self._record(dataset_name, saved=False)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, node) -> None:
        # Now, while this run's catalog is the hook's: a Ctrl-C run's records are written
        # when the next session (with its own catalog) starts.
        lineage = self._derived[dataset_name] = self._lineage_of(node)
        dataset = self._dataset(dataset_name)
        if isinstance(dataset, TakesRunMetadata):  # Pachyderm: run IDs go into the commit
            read = self._versions_read(lineage)
            record = self._run
            dataset.set_run_metadata(
                kedro_run_id=record.kedro_run_id if record else None,
                mlflow_run_id=self._mlflow_run_id(),
                git_commit=record.git.get("commit") if record else None,
                input_commits=input_commits(lineage, read),
                **derivation(lineage, read, self._parameters),
            )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        self._record(dataset_name, saved=True)

    @hook_impl
    def after_node_run(self) -> None:
        self._flush()

    # Before the MLflow hook's (settings.HOOKS): the versions still waiting for a digest are
    # logged while the MLflow run is open.
    @hook_impl
    def after_pipeline_run(self) -> None:
        self._finish_run("FINISHED")

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        self._finish_run("KILLED" if interrupted(error) else "FAILED")

    def _finish_interrupted(self) -> None:
        """The records of a run that Ctrl-C stopped (Kedro called no hook), at exit or
        when the process's next run starts; a failure is logged, not raised."""
        if not self._running:
            return
        try:
            self._finish_run("KILLED")
        except Exception as error:  # noqa: BLE001 - at exit no one to raise to; nor stop a run
            logger.error("could not write the provenance records of the run stopped with "
                         "Ctrl-C (%s: %s): its saved versions have no provenance.json",
                         type(error).__name__, error)

    def _finish_run(self, status: str) -> None:
        self._running = False
        try:
            self._flush(wait=True)
        finally:
            self._digests.close()
        self._write_records(status)

    def _dataset(self, name: str):
        if self._catalog is None or is_parameters(name):
            return None
        try:
            return stored_dataset(self._catalog.get(name))
        except Exception:  # noqa: BLE001 - a dataset the catalog cannot describe: nothing to record
            return None

    def _lineage_of(self, node: Node) -> Lineage:
        """The stored datasets and parameters behind ``node``'s outputs in this run."""
        if node.name not in self._lineage:
            self._lineage[node.name] = node_lineage(
                self._pipeline, node, in_memory_datasets(self._catalog))
        return self._lineage[node.name]

    def _versions_read(self, lineage: Lineage) -> dict[str, DatasetVersion]:
        """The versions of ``lineage``'s inputs, their digests waited for if still pending."""
        read = {name: self._read[name] for name in lineage.inputs if name in self._read}
        for name, saved, located, future in self._pending:
            if not saved and name in lineage.inputs:
                read[name] = with_digest(located, future.result())
        return read

    def _role(self, name: str, saved: bool) -> str | None:
        """``output``, ``input`` (read, produced by no node of the run) or ``None``: a
        version the run saved and reads back, already recorded as an output."""
        if saved:
            return "output"
        return None if base_name(name) in self._produced else "input"

    def _record(self, name: str, saved: bool) -> None:
        """Note the version just loaded or saved; its digest is computed in the background.

        The version tag (the Kedro version or Pachyderm commit) is set at once; the
        ``mlflow.data`` input, which carries the content digest, is logged when the digest
        is ready (at the latest when the run ends). A dataset identified only by its digest
        (the raw CSV) gets its tag then too.
        """
        table = self.outputs if saved else self._read
        dataset = self._dataset(name)
        if dataset is None or name in table or any(
            (n, s) == (name, saved) for n, s, _, _ in self._pending
        ):
            return
        located = locate_version(name, dataset, saved)
        if located is None:
            return
        self._mlflow_run_id()
        role = self._role(name, saved)
        if located.files is None:
            self._note(role, name, located.version)
            self._log(name, saved, located.version)
        else:
            digest = self._digests.submit(located)
            self._note(role, name, located, digest)
            if located.version.version:
                self._tag(name, role, located.version)
            self._pending.append((name, saved, located, digest))
        self._flush()

    def _note(self, role: str | None, name: str, version: DatasetVersion | LocatedVersion,
              digest: Future | None = None) -> None:
        """Into the run record, where the other hooks read it (a digest: when ready)."""
        if role is not None and self._run is not None:
            self._run.note_version(role, base_name(name), version, digest)

    def _mlflow_run_id(self) -> str | None:
        """The MLflow run this run logs into: the MLflow hook's, else a notebook's."""
        record = self._run
        if record is None:
            return _mlflow_run_id()
        if record.mlflow_run_id is None:
            record.mlflow_run_id = _mlflow_run_id()
        return record.mlflow_run_id

    def _flush(self, wait: bool = False) -> None:
        """Log the versions whose digest is ready (``wait``: all of them)."""
        pending, self._pending = self._pending, []
        for name, saved, located, future in pending:
            if wait or future.done():
                self._log(name, saved, with_digest(located, future.result()),
                          tagged=bool(located.version.version))
            else:
                self._pending.append((name, saved, located, future))

    def _log(self, name: str, saved: bool, version: DatasetVersion, tagged: bool = False) -> None:
        (self.outputs if saved else self._read)[name] = version
        role = self._role(name, saved)
        if role == "input":
            self.inputs[name] = version
        if role is not None and mlflow.active_run() is not None:
            if version.kind != "mlflow":  # a registered model is no dataset: its tag names it
                mlflow.log_input(mlflow_dataset(version), context=role)
            if not tagged:
                self._tag(name, role, version)

    @staticmethod
    def _tag(name: str, role: str | None, version: DatasetVersion) -> None:
        if role is None or mlflow.active_run() is None:
            return
        key = base_name(name)
        mlflow.set_tag(f"kedro.{role}.{key}", version.version or version.digest or "")
        if version.kind == "pachyderm":
            mlflow.set_tag(f"pachyderm.{role}.{key}", version.uri)

    def _write_records(self, status: str) -> None:
        """A provenance.json beside every local versioned output of this run."""
        for name, version in self.outputs.items():
            if version.kind != "kedro" or not version.version or not version.path:
                continue
            folder = Path(version.path).parent
            if not folder.is_dir() or name not in self._derived:
                continue
            record = {
                "dataset": name,
                **version.as_dict(),
                "status": status,
                **(self._run.as_dict() if self._run else {}),
                **derivation(self._derived[name], self._read, self._parameters),
            }
            _write_atomically(folder / RECORD, json.dumps(record, indent=2, default=str))


def _write_atomically(path: Path, text: str) -> None:
    """Whole or not at all: a process killed while writing leaves no half record."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def _mlflow_run_id() -> str | None:
    run = mlflow.active_run()
    return run.info.run_id if run else None
