"""Provenance queries against the MLflow tracking store (and local provenance records)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from kedro.io import DatasetError
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from fraud_detection.datasets.registry_listing import registered_model_names, registered_refs
from fraud_detection.datasets.versioned import stored_dataset, version_location
from fraud_detection.naming import RECORD, base_name
from fraud_detection.redaction import redact
from fraud_detection.tracking.pachyderm_job_run import JOB_TAG, PIPELINE_TAG
from fraud_detection.tracking.pfs_mounts import PROVENANCE_DIR

_PARAM_TAGS = ("kedro.run_id", "kedro.env", "kedro.pipelines", "kedro.runner", "git.commit",
               "git.dirty", "project.version")


class ProvenanceError(LookupError):
    """The run, model or data version asked about is not known; the message says what is."""


def run_provenance(run_id: str, client: MlflowClient | None = None) -> dict[str, Any]:
    """Data versions, code version, parameters, metrics and model versions of one run."""
    client = client or MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise ProvenanceError(f"MLflow run '{run_id}' not found in {client.tracking_uri}") from exc
    tags = run.data.tags
    datasets = [
        {
            "name": base_name(entry.dataset.name),
            "role": next((t.value for t in entry.tags if t.key == "mlflow.data.context"), ""),
            "source_type": entry.dataset.source_type,
            "source": json.loads(entry.dataset.source),
            "digest": entry.dataset.digest,
        }
        for entry in run.inputs.dataset_inputs
    ]
    versions = client.search_model_versions(f"run_id = '{run_id}'")
    return {
        "run_id": run_id,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "code": {key: tags[key] for key in _PARAM_TAGS if key in tags},
        "inputs": _tagged(tags, "kedro.input."),
        "outputs": _tagged(tags, "kedro.output."),
        "pachyderm": {k: v for k, v in tags.items() if k.startswith("pachyderm.")},
        "datasets": datasets,
        "parameters": dict(sorted(run.data.params.items())),
        "metrics": {k: v for k, v in sorted(run.data.metrics.items()) if "." not in k},
        "models": [
            {"name": v.name, "version": v.version, "coordinate": (v.tags or {}).get("coordinate")}
            for v in versions
        ],
        "error": tags.get("error"),
    }


def model_provenance(name: str, ref: str, client: MlflowClient | None = None) -> dict[str, Any]:
    """:func:`run_provenance` of the run that produced registered model ``name`` at ``ref``
    (a version number or an alias such as ``champion``)."""
    client = client or MlflowClient()
    try:
        version = (client.get_model_version(name, ref) if str(ref).isdigit()
                   else client.get_model_version_by_alias(name, ref))
    except MlflowException as exc:
        raise ProvenanceError(_unknown_model(client, name, ref)) from exc
    record = run_provenance(version.run_id, client)
    record["model"] = {"name": name, "version": version.version, "aliases": version.aliases,
                       "tags": version.tags}
    return record


def _unknown_model(client: MlflowClient, name: str, ref: str) -> str:
    """What the registry holds instead of version or alias ``ref`` of model ``name``."""
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        return (f"no registered model '{name}'; registered models: "
                f"{registered_model_names(client)} (choose one with --name)")
    return (f"registered model '{name}' has no version or alias '{ref}'; "
            f"{registered_refs(client, registered)}")


def data_provenance(
    dataset: str, version: str, client: MlflowClient | None = None,
    stored: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Runs that read (``used_by``) or wrote (``produced_by``) ``dataset`` at ``version``.

    ``version`` is a Kedro version, a Pachyderm commit ID or (raw data) a content digest.
    ``stored``: what the data itself says about the run that wrote it (see
    :func:`stored_record`), shown under ``record``.
    """
    client = client or MlflowClient()
    name = base_name(dataset)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]

    def runs_with(role: str) -> list[dict[str, str]]:
        runs = client.search_runs(
            experiments, f"tags.`kedro.{role}.{name}` = '{version}'", run_view_type=ViewType.ALL
        )
        return [_run_entry(r.info, r.data.tags, f"pachyderm.{role}.{name}") for r in runs]

    result = {"dataset": name, "version": version,
              "produced_by": runs_with("output"), "used_by": runs_with("input")}
    if stored:
        result["record"] = stored
    return result


def _run_entry(info: Any, tags: dict[str, str], pfs_tag: str) -> dict[str, str]:
    """One run of a data answer; a Pachyderm job's run also names its job as pachctl does
    (``<pipeline>@<job>``) and the ``pfs://`` file it read or wrote."""
    entry = {"run_id": info.run_id, "status": info.status,
             "kedro_run_id": tags.get("kedro.run_id", ""),
             "git_commit": tags.get("git.commit", "")}
    if tags.get(JOB_TAG):
        entry["pachyderm_job"] = f"{tags.get(PIPELINE_TAG, '')}@{tags[JOB_TAG]}"
    if tags.get(pfs_tag):
        entry["pfs"] = tags[pfs_tag]
    return entry


def job_output_record(answer: dict[str, Any]) -> dict[str, str] | None:
    """Where the record of ``answer``'s version is when a Pachyderm job wrote it: the job's
    output commit (the version: the worker tags its outputs with that commit) in its
    pipeline's repo, which holds ``/.provenance/<pipeline>-<datum>.json``, one per datum,
    each naming the job's run. A Kedro environment's catalog names other repos (``--env
    pachyderm``) or worker paths, so the record is not read through it."""
    for run in answer["produced_by"]:
        if "pachyderm_job" in run:
            pipeline = run["pachyderm_job"].split("@", 1)[0]
            files = f"{pipeline}@{answer['version']}:/{PROVENANCE_DIR}/"
            return {"pachyderm_job": run["pachyderm_job"], "provenance_files": files,
                    "read_with": f"pachctl list file {files}"}
    return None


def data_record(dataset: Any, version: str, answer: dict[str, Any]) -> dict[str, Any] | None:
    """What the data says about the run that wrote it, for :func:`data_provenance`'s
    ``answer``: a Pachyderm job's output commit (:func:`job_output_record`), else what
    ``dataset`` (the environment's catalog entry) stored with ``version``. A record that
    cannot be read is said so (``unreadable``), and the runs found in MLflow still shown."""
    found = job_output_record(answer)
    if found is not None or dataset is None:
        return found
    try:
        return stored_record(dataset, version)
    except DatasetError as exc:
        return {"unreadable": redact(str(exc))}


def stored_record(dataset: Any, version: str) -> dict[str, Any] | None:
    """The run record written into the data: a Pachyderm commit's description and
    provenance file, or the ``provenance.json`` beside a local Kedro version."""
    dataset = stored_dataset(dataset)
    if _is_pachyderm(dataset):
        return dataset.commit_metadata(version)
    location = version_location(dataset, version)
    if location is None:  # not a versioned file dataset
        return None
    record = Path(location).parent / RECORD
    return json.loads(record.read_text()) if record.is_file() else None


def _is_pachyderm(dataset: Any) -> bool:
    """Without importing it unless loaded: a base install has no ``[pachyderm]`` extra."""
    module = sys.modules.get("fraud_detection.datasets.pachyderm")
    return module is not None and isinstance(dataset, module.PachydermDataset)


def _tagged(tags: dict[str, str], prefix: str) -> dict[str, str]:
    return {k.removeprefix(prefix): v for k, v in sorted(tags.items()) if k.startswith(prefix)}
