"""What each key of ``conf/<env>/mlflow.yml`` may hold, checked like the pipelines' parameters.

A misspelt key (``experiment_nme``) would otherwise be ignored and the run would track into
the default experiment without a word. :func:`checked` refuses unknown keys with the closest
known one and values of the wrong type, naming the file that holds each: the configuration
is merged from ``conf/base`` and the run's environment before it gets here, so the file is
found again by looking for the key in the project's ``mlflow*`` files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from fraud_detection.errors import UserError
from fraud_detection.nesting import closest, has_path, key_paths, value_at
from fraud_detection.parameters import Name, Parameters
from fraud_detection.text import shown

_ANY = object()


class MlflowConfigError(UserError, ValueError):
    """``mlflow.yml`` holds an unknown key or a value of the wrong type; raised before any work."""


class Roles(Parameters):
    """Which datasets play which role in the run (None: no dataset plays it)."""

    model: Name | None = None
    metrics: Name | None = None
    evaluation_data: Name | None = None
    plots: Name | None = None
    reports: list[Name] = Field(default_factory=list)
    run_metrics: list[Name] = Field(default_factory=list)


class Champion(Parameters):
    """The metric that decides the champion alias and the margin a challenger must beat."""

    metric: Name = "auprc"
    min_improvement: Annotated[float, Field(allow_inf_nan=False)] = 0.0


class LogSwitches(Parameters):
    """What the run logs to MLflow."""

    params: bool = True
    datasets: bool = True
    model: bool = True
    plots: bool = True
    # ``register`` is a method every pydantic model inherits: the field takes it as its alias.
    register_: bool = Field(default=True, alias="register")


class MlflowConfig(Parameters):
    """The whole of ``mlflow.yml``; a missing key takes the default written here.

    An empty ``tracking_uri`` means the project's SQLite store, an empty ``registry_uri``
    the tracking store, an empty ``artifact_location`` MLflow's default.
    """

    enabled: bool = True
    tracking_uri: str | None = None
    registry_uri: str | None = None
    artifact_location: str | None = None
    experiment_name: Name = "fraud-detection"
    registered_model_name: Name = "fraud-detector"
    connect_timeout: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 5.0
    roles: Roles = Field(default_factory=Roles)
    champion: Champion = Field(default_factory=Champion)
    log: LogSwitches = Field(default_factory=LogSwitches)


def checked(config: dict[str, Any], project_path: Path, env: str | None = None) -> MlflowConfig:
    """``config`` (the merged ``mlflow.yml``) as a :class:`MlflowConfig`, or an error that
    lists every unknown key and bad value with the file it is in and the fix."""
    try:
        return MlflowConfig.model_validate(config)
    except ValidationError as error:
        problems = [_problem(detail, config, project_path, env) for detail in error.errors()]
    raise MlflowConfigError(
        "\n".join(problems) + "\nCorrect each key or value; conf/base/mlflow.yml describes "
        "every key of mlflow.yml."
    )


def known_keys() -> list[str]:
    """Every dotted key ``mlflow.yml`` may hold (``roles.model``, ``log.params`` ...)."""
    return list(key_paths(MlflowConfig().model_dump(by_alias=True)))


def _problem(detail: dict[str, Any], config: dict[str, Any], project: Path,
             env: str | None) -> str:
    keys = [str(part) for part in detail["loc"]]
    key = ".".join(keys)
    if detail["type"] == "extra_forbidden":
        where = _files_holding(keys, project, env)
        parent = key.rpartition(".")[0]
        siblings = [known for known in known_keys() if known.rpartition(".")[0] == parent]
        guess = closest(keys[-1], [known.rpartition(".")[2] for known in siblings])
        guess = guess and f"{parent}.{guess}".lstrip(".")
        hint = (f"; did you mean '{guess}'?" if guess else
                f"; the keys{f' under {parent!r}' if parent else ''} are {', '.join(siblings)}")
        return f"mlflow.yml: unknown key '{key}' in {where}{hint}"
    where = _files_holding(keys, project, env, detail["input"])
    reason = detail["msg"].removeprefix("Value error, ")
    return f"mlflow.yml: '{key}' = {shown(repr(detail['input']))} in {where}: {reason}"


def _files_holding(keys: list[str], project: Path, env: str | None,
                   value: Any = _ANY) -> str:
    """The project's ``mlflow*`` files (``conf/base`` and ``conf/<env>``, or every environment
    when ``env`` is not known) that set ``keys`` (to ``value`` when given), as the user would
    write their paths."""
    conf = project / "conf"
    envs = ["base", env] if env else sorted(p.name for p in conf.glob("*") if p.is_dir())
    found = []
    for path in (path for name in envs for path in _mlflow_files(conf / name)):
        tree = _read(path)
        if has_path(tree, keys) and (value is _ANY or value_at(tree, keys) == value):
            found.append(path.relative_to(project).as_posix())
    return " and ".join(found) or f"conf/{env or '<env>'}/mlflow.yml"


def _mlflow_files(folder: Path) -> list[Path]:
    """The files Kedro reads as ``mlflow`` config in one environment (``mlflow*``,
    ``mlflow*/**``: the project's ``CONFIG_LOADER_ARGS``)."""
    files = [*folder.glob("mlflow*.y*ml"), *folder.glob("mlflow*/**/*.y*ml")]
    return sorted(path for path in files if path.is_file())


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
