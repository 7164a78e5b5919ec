"""Project commands: ``kedro provenance run|model|data``.

Kedro adds the ``cli`` group of a project's ``cli.py`` to its own commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from fraud_detection.provenance import data_provenance, model_provenance, run_provenance
from fraud_detection.provenance.lookup import ProvenanceError
from fraud_detection.tracking.config import MlflowSettings, redact


@click.group(name="fraud-detection")
def cli() -> None:
    """Project commands of fraud-detection."""


def _context(env: str | None):
    project = Path.cwd()
    bootstrap_project(project)
    session = KedroSession.create(project_path=project, env=env)
    context = session.load_context()
    settings = MlflowSettings.from_config(dict(context.config_loader["mlflow"]), project)
    settings.activate()
    return context, settings


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for inner, item in value.items():
                click.echo(f"  {inner}: {item}")
        elif isinstance(value, list):
            click.echo(f"{key}:")
            for item in value:
                click.echo(f"  - {item}")
        elif value is not None:
            click.echo(f"{key}: {value}")


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
    """MLflow runs that read or wrote DATASET at VERSION (Kedro version or Pachyderm commit)."""
    context, _ = _context(env)
    _run(data_provenance, dataset, version, None, _record_folder(context, dataset, version),
         as_json=as_json)


def _record_folder(context, dataset: str, version: str) -> Path | None:
    """The local folder of a versioned dataset's ``version``, where provenance.json lies."""
    try:
        entry = context.catalog.get(dataset)
        path = Path(str(entry._get_versioned_path(version)))
    except Exception:  # not a local versioned dataset: MLflow alone answers
        return None
    return path.parent if path.parent.is_dir() else None
