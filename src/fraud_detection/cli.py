"""Project commands: ``kedro provenance run|model|data``.

Kedro adds the ``cli`` group of a project's ``cli.py`` to its own commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from pydantic_core import to_jsonable_python

from fraud_detection.cli_pachyderm import pipelines_command
from fraud_detection.naming import base_name, is_parameters
from fraud_detection.provenance import data_provenance, model_provenance, run_provenance
from fraud_detection.provenance.lookup import ProvenanceError, data_record
from fraud_detection.redaction import redact
from fraud_detection.run_command import ipython, run
from fraud_detection.tracking.config import MlflowSettings, TrackingUnavailableError
from fraud_detection.tracking.versions import content_digest


@click.group(name="fraud-detection")
def cli() -> None:
    """Project commands of fraud-detection."""


# `kedro run` and `kedro ipython` replaced: short failures, the project's own IPython.
cli.add_command(run)
cli.add_command(ipython)


def _context(env: str | None):
    project = Path.cwd()
    bootstrap_project(project)
    session = KedroSession.create(project_path=project, env=env)
    context = session.load_context()
    settings = MlflowSettings.from_config(dict(context.config_loader["mlflow"]), project,
                                          context.env or "local")
    try:
        settings.activate()  # fails in seconds, naming the URI, when the server is down
    except TrackingUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc
    return context, settings


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    shown = {key: value for key, value in result.items() if value is not None}
    click.echo(yaml.safe_dump(to_jsonable_python(shown, fallback=str), sort_keys=False,
                              width=1000).rstrip())


def _run(fn, *args, as_json: bool) -> None:
    try:
        _show(fn(*args), as_json)
    except ProvenanceError as exc:
        raise click.ClickException(redact(str(exc))) from exc


env_option = click.option("--env", "-e", default=None, help="Kedro environment (default: local).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@cli.group()
def provenance() -> None:
    """Which data, code and parameters made a run; which runs used or made a data version."""


@provenance.command("run")
@click.argument("run_id")
@env_option
@json_option
def run_command(run_id: str, env: str | None, as_json: bool) -> None:
    """Data versions, git commit, parameters, metrics and models of MLflow run RUN_ID."""
    _context(env)
    _run(run_provenance, run_id, as_json=as_json)


@provenance.command("model")
@click.argument("ref")
@click.option("--name", default=None, help="Registered model name (default: mlflow.yml's).")
@env_option
@json_option
def model_command(ref: str, name: str | None, env: str | None, as_json: bool) -> None:
    """Provenance of the registered model version REF (a version number or an alias)."""
    _, settings = _context(env)
    _run(model_provenance, name or settings.registered_model_name, ref, as_json=as_json)


@provenance.command("data")
@click.argument("dataset")
@click.argument("version")
@env_option
@json_option
def data_command(dataset: str, version: str, env: str | None, as_json: bool) -> None:
    """MLflow runs that read or wrote DATASET at VERSION: a Kedro version, a Pachyderm commit
    ID, or for a plain file dataset (the raw CSV) its content digest or the local file or
    folder itself."""
    context, _ = _context(env)
    known = sorted({base_name(name) for name in context.catalog if not is_parameters(name)})
    if base_name(dataset) not in known:
        raise click.ClickException(
            f"no dataset '{dataset}' in the catalog of environment '{context.env or 'local'}'; "
            f"datasets: {', '.join(known)}"
        )
    if Path(version).exists():
        version = _local_digest(Path(version), context.catalog, dataset)
    try:
        answer = data_provenance(dataset, version)
    except ProvenanceError as exc:
        raise click.ClickException(redact(str(exc))) from exc
    # A transcoded dataset (raw_transactions@spark): any of its entries knows where it is.
    entries = [name for name in context.catalog if base_name(name) == base_name(dataset)]
    entry = context.catalog.get(dataset if dataset in entries else entries[0])
    record = data_record(entry, version, answer)
    if record is not None:
        answer["record"] = record
    _show(answer, as_json)
    if record and "unreadable" in record:
        click.echo(f"Warning: the record stored with {dataset} {version} could not be read: "
                   f"{record['unreadable']}", err=True)


def _local_digest(path: Path, catalog, dataset: str) -> str:
    """The content digest a run records for ``path``: a file, or the files in a folder that
    match the dataset's ``pattern`` (the raw CSV folder's ``*.csv``), as the run read them."""
    patterns = [getattr(catalog.get(name), "_pattern", None) for name in catalog
                if base_name(name) == base_name(dataset)]
    pattern = next((p for p in patterns if p), "*")
    files = sorted(p for p in path.glob(pattern) if p.is_file()) if path.is_dir() else [path]
    digest = content_digest(files)
    if digest is None:
        raise click.ClickException(f"no file matching '{pattern}' in {path}: nothing to look up")
    click.echo(f"{path}: content digest {digest}", err=True)
    return digest


@cli.group()
def pachyderm() -> None:
    """Data in Pachyderm (`kedro run --env pachyderm`) and the pipeline as Pachyderm pipelines."""


# `kedro pachyderm pipelines`: the pipeline deployed as Pachyderm pipelines.
pachyderm.add_command(pipelines_command)


@pachyderm.command("put-raw")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--dataset", default="raw_transactions@pandas", show_default=True)
@env_option
def put_raw(path: str | None, dataset: str, env: str | None) -> None:
    """Commit a local raw CSV (default: the one in data/01_raw) to the raw repo, bytes
    unchanged, like `pachctl put file`."""
    context, _ = _context(env or "pachyderm")
    source = Path(path) if path else _local_raw_csv()
    target = context.catalog.get(dataset)
    from fraud_detection.datasets.pachyderm import PachydermDataset  # the [pachyderm] extra

    if not isinstance(target, PachydermDataset):
        raise click.ClickException(f"{dataset} is not a PachydermDataset in this environment")
    target.put_file(source)
    click.echo(f"{source} -> {target.saved_version().uri}")


def _local_raw_csv() -> Path:
    found = sorted(Path("data/01_raw").glob("*.csv"))
    if len(found) != 1:
        raise click.ClickException(
            f"expected one CSV in data/01_raw, found {len(found)}; name the file to put"
        )
    return found[0]
