"""One pachd ``CreatePipelineRequest`` (JSON, camelCase as pachd's schema has it) per stage.

What a stage reads and writes comes from the Kedro pipeline and the worker catalog
(``conf/pachyderm_worker/catalog.yml``): the datasets the pipeline reads from files must all
sit under one input mount ``/pfs/<input>/``, which becomes the pipeline's PFS input, and
every file it writes must sit under ``/pfs/out/``, which pachd commits as the job's output.
Image, workers, resources and secrets come from ``pachyderm_pipelines.yml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import PipelinesConfig, PipelinesConfigError

# Stages in data-flow order: each is one Kedro pipeline and one Pachyderm pipeline.
STAGES = ("split", "aggregate", "train", "score")
WORKER_ENV = "pachyderm_worker"
_PATH_KEYS = ("input_path", "filepath")
_SAVE_KEYS = ("output_path", "filepath")


@dataclass(frozen=True)
class StageIO:
    """What one stage reads (all under ``/pfs/<input_name>``) and writes (under /pfs/out)."""

    stage: str
    input_name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    nodes: tuple[str, ...]


def _path(entry: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """A catalog entry's load or save path, looking inside wrappers (CachedDataset)."""
    for key in keys:
        if isinstance(entry.get(key), str):
            return entry[key]
    inner = entry.get("dataset")
    return _path(inner, keys) if isinstance(inner, Mapping) else None


def _base(name: str) -> str:
    return name.split("@")[0]


def stage_io(stage: str, pipeline, catalog: Mapping[str, Any], pfs_root: str) -> StageIO:
    """The stage's input mount and outputs, checked against the worker catalog."""
    root = pfs_root.rstrip("/") + "/"
    mounts: dict[str, set[str]] = {}
    for name in sorted(pipeline.inputs()):
        entry = catalog.get(name)
        path = _path(entry, _PATH_KEYS) if isinstance(entry, Mapping) else None
        if name.startswith("params:") or name == "parameters" or path is None:
            continue  # parameters, registered models: not files of an input commit
        if not path.startswith(root) or path[len(root):].split("/")[0] in ("", "out"):
            raise PipelinesConfigError(
                f"stage '{stage}': dataset '{name}' reads {path}, not a file under an input "
                f"mount {root}<input>/ of conf/{WORKER_ENV}/catalog.yml; point its filepath "
                "(or input_path) at ${pfs_root:}/<input>/...")
        mounts.setdefault(path[len(root):].split("/")[0], set()).add(name)
    if len(mounts) != 1:
        raise PipelinesConfigError(
            f"stage '{stage}' must read from exactly one input mount under {root}, found "
            f"{ {k: sorted(v) for k, v in mounts.items()} or 'none'}; fix the paths of its "
            f"input datasets in conf/{WORKER_ENV}/catalog.yml")
    writes = []
    for name in sorted(pipeline.all_outputs()):
        entry = catalog.get(name)
        path = _path(entry, _SAVE_KEYS) if isinstance(entry, Mapping) else None
        if path is None:
            continue  # in memory: passed between nodes of this stage only
        if not path.startswith(root + "out/"):
            raise PipelinesConfigError(
                f"stage '{stage}': dataset '{name}' writes {path}, outside {root}out/, which "
                "pachd would not commit; point it at ${pfs_root:}/out/... in "
                f"conf/{WORKER_ENV}/catalog.yml")
        writes.append(name)
    [(input_name, reads)] = mounts.items()
    return StageIO(stage, input_name, tuple(sorted(reads)), tuple(writes),
                   tuple(sorted(node.name for node in pipeline.nodes)))


def _input_repo(io: StageIO, config: PipelinesConfig) -> str:
    if io.input_name in config.stages and io.input_name != io.stage:
        return config.stages[io.input_name].pipeline
    if io.input_name in config.repos:
        return config.repos[io.input_name]
    raise PipelinesConfigError(
        f"stage '{io.stage}' reads /pfs/{io.input_name}, which is neither a stage nor listed "
        f"under 'repos' of pachyderm_pipelines.yml; add repos.{io.input_name}: <repo>")


def pipeline_spec(io: StageIO, config: PipelinesConfig) -> dict[str, Any]:
    """The CreatePipelineRequest of one stage; secrets only by reference."""
    stage = config.stages[io.stage]
    transform: dict[str, Any] = {
        "image": config.image,
        # Not through a shell (pachd runs cmd as given): the packaged project's entry point.
        "cmd": ["fraud-detection", "--env", WORKER_ENV, "--pipelines", io.stage],
        "workingDir": config.working_dir,
        "env": {**config.env, "MLFLOW_TRACKING_URI": config.tracking_uri},
    }
    if config.secrets:
        transform["secrets"] = [{"name": s.name, "key": s.key, "envVar": s.env_var}
                                for s in config.secrets]
    if config.image_pull_secrets:
        transform["imagePullSecrets"] = list(config.image_pull_secrets)
    resources = {k: v for k, v in stage.resources.model_dump().items() if v is not None}
    spec: dict[str, Any] = {
        "pipeline": {"project": {"name": config.project}, "name": stage.pipeline},
        "description": (f"fraud-detection '{io.stage}': nodes {', '.join(io.nodes)}; reads "
                        f"{', '.join(io.reads)}; writes {', '.join(io.writes) or 'nothing'}"),
        "transform": transform,
        "input": {"pfs": {"project": config.project, "name": io.input_name,
                          "repo": _input_repo(io, config), "branch": "master",
                          "glob": stage.glob}},
        "parallelismSpec": {"constant": stage.parallelism},
        "datumTries": stage.datum_tries,
    }
    if resources:
        spec["resourceRequests"] = resources
    return spec


def pipeline_specs(ios: list[StageIO], config: PipelinesConfig) -> dict[str, dict[str, Any]]:
    """Specs by stage, for the stages both the project and the configuration have."""
    missing = [io.stage for io in ios if io.stage not in config.stages]
    if missing:
        raise PipelinesConfigError(
            f"pachyderm_pipelines.yml: no 'stages' entry for {', '.join(missing)}; add "
            "stages.<name>: {pipeline: <pachd pipeline name>}")
    return {io.stage: pipeline_spec(io, config) for io in ios}
