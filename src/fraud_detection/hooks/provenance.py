"""Which data versions a run read and wrote, logged both ways.

Forward (run -> data): every versioned input and output becomes an ``mlflow.data`` input of
the MLflow run (context ``input`` or ``output``) whose source names the exact version, plus
a ``kedro.input.<dataset>`` / ``kedro.output.<dataset>`` tag holding the version (a
registered model that a scoring run loads gets the tag alone: its version number).
Backward (data -> run): the MLflow run ID is written into the outputs themselves: a
``provenance.json`` beside each local versioned output, and, for Pachyderm, the commit's
description and provenance file (set here, before the dataset saves its commit).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.hooks import hook_impl

from fraud_detection.hooks.interrupts import interrupted
from fraud_detection.tracking.git import git_info
from fraud_detection.tracking.sources import mlflow_dataset
from fraud_detection.tracking.versions import (
    BackgroundDigests,
    DatasetVersion,
    LocatedVersion,
    locate_version,
    with_digest,
)

logger = logging.getLogger(__name__)

RECORD = "provenance.json"


class ProvenanceHook:
    """Collects dataset versions during a run and links them to the MLflow run."""

    def __init__(self) -> None:
        self._catalog = None
        self._project_path = Path.cwd()
        self._env = "local"
        self._run: dict[str, Any] = {}
        self.inputs: dict[str, DatasetVersion] = {}
        self.outputs: dict[str, DatasetVersion] = {}
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
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        self.inputs, self.outputs, self._pending = {}, {}, []
        self._digests = BackgroundDigests()
        self._run = {
            "kedro_run_id": str(run_params.get("run_id") or run_params.get("session_id")),
            "env": self._env,
            "pipelines": run_params.get("pipeline_names") or ["__default__"],
            "git": git_info(self._project_path),
        }

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str) -> None:
        self._record(dataset_name, saved=False)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str, node) -> None:
        dataset = self._dataset(dataset_name)
        if hasattr(dataset, "set_run_metadata"):  # Pachyderm: run IDs go into the commit
            dataset.set_run_metadata(
                kedro_run_id=self._run.get("kedro_run_id"),
                mlflow_run_id=_mlflow_run_id(),
                node=node.name,
                git_commit=self._run.get("git", {}).get("commit"),
                input_commits={
                    name: v.version for name, v in self.inputs.items() if v.kind == "pachyderm"
                },
            )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str) -> None:
        self._record(dataset_name, saved=True)

    @hook_impl(tryfirst=True)
    def after_node_run(self) -> None:
        """Before the MLflow hook reads the run's data tags (to tag a registered model)."""
        self._flush(wait_for_tags=True)

    # First at the end of a run: the inputs still waiting for a digest are logged while the
    # MLflow run is open, before the MLflow hook closes it.
    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._finish_run("FINISHED")

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self, error: Exception) -> None:
        self._finish_run("KILLED" if interrupted(error) else "FAILED")

    def _finish_run(self, status: str) -> None:
        try:
            self._flush(wait=True)
        finally:
            self._digests.close()
        self._write_records(status)

    def _dataset(self, name: str):
        if self._catalog is None or is_parameters(name):
            return None
        try:
            return self._catalog.get(name)
        except Exception:  # noqa: BLE001 - a dataset the catalog cannot describe: nothing to record
            return None

    def _record(self, name: str, saved: bool) -> None:
        """Note the version just loaded or saved; its digest is computed in the background.

        The version tag (the Kedro version or Pachyderm commit) is set at once; the
        ``mlflow.data`` input, which carries the content digest, is logged when the digest
        is ready (at the latest when the run ends). A dataset identified only by its digest
        (the raw CSV) gets its tag then too.
        """
        table = self.outputs if saved else self.inputs
        dataset = self._dataset(name)
        if dataset is None or name in table or any(
            (n, s) == (name, saved) for n, s, _, _ in self._pending
        ):
            return
        located = locate_version(name, dataset, saved)
        if located is None:
            return
        if "mlflow_run_id" not in self._run:
            self._run["mlflow_run_id"] = _mlflow_run_id()
        if located.files is None:
            self._log(name, saved, located.version)
        else:
            if located.version.version:
                self._tag(name, saved, located.version)
            self._pending.append((name, saved, located, self._digests.submit(located)))
        self._flush()

    def _flush(self, wait: bool = False, wait_for_tags: bool = False) -> None:
        """Log the versions whose digest is ready (``wait``: all of them).

        ``wait_for_tags`` waits for the versions whose tag is their digest, so every
        ``kedro.input/output`` tag is on the run when another hook reads them.
        """
        pending, self._pending = self._pending, []
        for name, saved, located, future in pending:
            needed = wait or (wait_for_tags and not located.version.version)
            if needed or future.done():
                self._log(name, saved, with_digest(located, future.result()),
                          tagged=bool(located.version.version))
            else:
                self._pending.append((name, saved, located, future))

    def _log(self, name: str, saved: bool, version: DatasetVersion, tagged: bool = False) -> None:
        (self.outputs if saved else self.inputs)[name] = version
        if mlflow.active_run() is not None:
            role = "output" if saved else "input"
            if version.kind != "mlflow":  # a registered model is no dataset: its tag names it
                mlflow.log_input(mlflow_dataset(version), context=role)
            if not tagged:
                self._tag(name, saved, version)

    @staticmethod
    def _tag(name: str, saved: bool, version: DatasetVersion) -> None:
        if mlflow.active_run() is None:
            return
        role, key = ("output" if saved else "input"), base_name(name)
        mlflow.set_tag(f"kedro.{role}.{key}", version.version or version.digest or "")
        if version.kind == "pachyderm":
            mlflow.set_tag(f"pachyderm.{role}.{key}", version.uri)

    def _write_records(self, status: str) -> None:
        """A provenance.json beside every local versioned output of this run."""
        for name, version in self.outputs.items():
            if version.kind != "kedro" or not version.version or not version.path:
                continue
            folder = Path(version.path).parent
            if not folder.is_dir():
                continue
            record = {
                "dataset": name,
                **version.as_dict(),
                "status": status,
                **self._run,
                "inputs": {n: v.as_dict() for n, v in self.inputs.items()},
            }
            (folder / RECORD).write_text(json.dumps(record, indent=2, default=str))


def is_parameters(dataset_name: str) -> bool:
    """``parameters`` and ``params:<key>``: Kedro's parameter inputs, not data."""
    return dataset_name == "parameters" or dataset_name.startswith("params:")


def base_name(dataset_name: str) -> str:
    """``raw_transactions@spark`` -> ``raw_transactions``: one name for all transcodings."""
    return dataset_name.split("@", 1)[0]


def _mlflow_run_id() -> str | None:
    run = mlflow.active_run()
    return run.info.run_id if run else None
