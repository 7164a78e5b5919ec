"""``kedro pachyderm pipelines``: the training pipeline as Pachyderm pipelines, one per stage.

Prints the specs (pachd's CreatePipelineRequest JSON), writes them (``--output DIR``, one
``<stage>.json`` each, for ``pachctl create pipeline -f``), or sends them to pachd
(``--create``, updating the pipelines that exist).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import grpc
from kedro.framework.project import pipelines as project_pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from fraud_detection.datasets.pachyderm_connection import (
    connect,
    explain,
    is_not_found,
    resolve_target,
    rpc_error,
)
from fraud_detection.pachyderm_pipelines import (
    STAGES,
    WORKER_ENV,
    PipelinesConfig,
    PipelinesConfigError,
    pipeline_specs,
    stage_io,
)
from fraud_detection.tracking.pfs_mounts import pfs_root

CONFIG_NAME = "pachyderm_pipelines"


def _config_loader(env: str):
    bootstrap_project(Path.cwd())
    session = KedroSession.create(project_path=Path.cwd(), env=env)
    loader = session.load_context().config_loader
    loader.config_patterns[CONFIG_NAME] = [f"{CONFIG_NAME}*"]
    return loader


def build_specs(env: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Specs by stage (data-flow order) and the env's pachd credentials."""
    loader = _config_loader(env)
    source = f"conf/{env}/{CONFIG_NAME}.yml"
    try:
        raw = loader[CONFIG_NAME]
    except (KeyError, ValueError) as exc:
        raise PipelinesConfigError(f"{source}: cannot be read ({exc})") from exc
    if not raw:
        raise PipelinesConfigError(f"{source}: missing or empty; copy the one in "
                                   "conf/pachyderm/ and set image and tracking_uri")
    config = PipelinesConfig.parse(dict(raw), source)
    credentials = dict(loader["credentials"].get("pachyderm") or {})
    worker_catalog = _config_loader(WORKER_ENV)["catalog"]
    ios = [stage_io(stage, project_pipelines[stage], worker_catalog, pfs_root())
           for stage in STAGES if stage in config.stages]
    return pipeline_specs(ios, config), credentials


def create_pipelines(specs: dict[str, dict[str, Any]], credentials: dict[str, Any],
                     timeout: float = 30.0) -> list[tuple[str, str]]:
    """CreatePipeline for each spec in data-flow order (an input's pipeline first); pachd
    refuses to replace an existing pipeline unless the request says update, so pipelines
    found by InspectPipeline are updated. Returns (pipeline, 'created'|'updated')."""
    from google.protobuf import json_format
    from python_pachyderm.proto.v2.pps import pps_pb2

    target = resolve_target(None, credentials)
    client = connect(target, timeout)
    done = []
    for spec in specs.values():
        name, project = spec["pipeline"]["name"], spec["pipeline"]["project"]["name"]
        request = json_format.ParseDict(spec, pps_pb2.CreatePipelineRequest())
        try:
            request.update = _exists(client, name, project)
            client.create_pipeline_from_request(request)
        except Exception as exc:  # gRPC errors, named with the pipeline and pachd's words
            raise _create_error(exc, spec, target) from exc
        done.append((name, "updated" if request.update else "created"))
    return done


def _create_error(exc: BaseException, spec: dict[str, Any], target) -> DatasetError:
    """pachd's refusal, with the pipeline and what to do about a missing input repo."""
    name, project = spec["pipeline"]["name"], spec["pipeline"]["project"]["name"]
    err = rpc_error(exc)
    if err is not None and err.code() == grpc.StatusCode.NOT_FOUND:
        repo = spec["input"]["pfs"]["repo"]
        return DatasetError(
            f"pipeline {project}/{name}: {err.details()}. Create its input repo with "
            f"`pachctl create repo {repo} --project {project}` (or create the pipeline that "
            "writes it first), then run `kedro pachyderm pipelines --create` again.")
    names = {"repo": spec["input"]["pfs"]["repo"], "project": project, "branch": "master"}
    return explain(exc, f"pipeline {project}/{name}", target, names)


def _exists(client, name: str, project: str) -> bool:
    try:
        list(client.inspect_pipeline(name, project_name=project))
    except Exception as exc:
        if is_not_found(exc):
            return False
        raise
    return True


@click.command("pipelines")
@click.option("--env", "-e", default="pachyderm", show_default=True,
              help="Environment whose pachyderm_pipelines.yml and credentials to use.")
@click.option("--output", "-o", type=click.Path(file_okay=False), default=None,
              help="Write <stage>.json files into this folder instead of printing.")
@click.option("--create", is_flag=True, help="Create (or update) the pipelines in pachd.")
def pipelines_command(env: str, output: str | None, create: bool) -> None:
    """Pachyderm pipeline specs for split, aggregate (one shard per datum), train, score."""
    try:
        specs, credentials = build_specs(env)
    except PipelinesConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if output:
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        for stage, spec in specs.items():
            (folder / f"{stage}.json").write_text(json.dumps(spec, indent=2) + "\n")
            click.echo(f"{folder / f'{stage}.json'}: pipeline {spec['pipeline']['name']}")
    elif not create:
        click.echo(json.dumps(list(specs.values()), indent=2))
    if create:
        try:
            for name, action in create_pipelines(specs, credentials):
                click.echo(f"pipeline {name}: {action}")
        except DatasetError as exc:
            raise click.ClickException(str(exc)) from exc
