"""Parameters that ``conf/base`` does not define, or of the wrong type, are refused before
the run starts.

Kedro adds any key given with ``--params`` (or in an environment's parameters file) to the
parameters, so a misspelt ``--params train.model.max_dept=5`` would train the default depth
while the run's record said otherwise. Under each top-level key that ``conf/base`` defines
(``train``, ``split`` ...) every key must exist there; other top-level keys (``spark``,
``databricks``: settings the configuration reads through ``runtime_params``) are not
parameters of a node and are left alone.

Then every parameter that a node of the run's pipelines declares a type for
(:mod:`fraud_detection.parameters`) is checked against it. Kedro would refuse a bad value
next, but without its full key or where it came from.
"""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines, settings
from kedro.validation import TypeExtractor
from pydantic import ValidationError

from fraud_detection.nesting import closest, key_paths, value_at


class UnknownParameterError(ValueError):
    """A parameter key that ``conf/base`` does not define; raised before any work."""


class InvalidParameterError(ValueError):
    """A parameter value its node's type refuses; raised before any work."""


def unknown_keys(params: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """The keys of ``params`` under a top-level key of ``base`` that ``base`` lacks."""
    defined = set(key_paths(base))
    return sorted(path for path in key_paths(params)
                  if path.split(".", 1)[0] in base and path not in defined
                  and path.rsplit(".", 1)[0] in defined)  # the outermost unknown key only


class ParameterCheckHook:
    """Checks the run's parameters against ``conf/base`` and the nodes' parameter types when
    the context is created."""

    @hook_impl
    def after_context_created(self, context) -> None:
        loader = context.config_loader
        params, base = dict(loader["parameters"]), _base_parameters(loader)
        runtime = loader.runtime_params or {}
        # The keys --params set a value at; `--params split.n_shards=3` sets n_shards, not split.
        given = {path for path in key_paths(runtime)
                 if not isinstance(value_at(runtime, path.split(".")), dict)}
        env = f"conf/{context.env or 'local'}"

        def source(path: str) -> str:
            """Where the value at a dotted key came from: ``--params``, base or the env."""
            keys = path.split("[", 1)[0].split(".")
            if any(".".join(keys[:n]) in given for n in range(1, len(keys) + 1)):
                return "--params"
            return "conf/base" if value_at(base, keys) == value_at(params, keys) else env

        unknown = unknown_keys(params, base)
        if unknown:
            defined = list(key_paths(base))
            described = []
            for key in unknown:
                close = closest(key, defined)
                described.append(f"{key} (from {source(key)}"
                                 + (f"; did you mean {close}?)" if close else ")"))
            raise UnknownParameterError(
                "parameters that conf/base/parameters_*.yml does not define, so no node would "
                f"read them: {', '.join(described)}. Correct each key, or define it in "
                "conf/base."
            )
        types = TypeExtractor(dict(pipelines)).extract_types_from_pipelines()
        problems = invalid_values(params, types)
        if problems:
            raise InvalidParameterError(
                "parameter values that their nodes cannot use, refused before the run:\n"
                + "".join(f"- {path} = {value!r} (from {source(path)}): {reason}\n"
                          for path, value, reason in problems)
                + "Correct each value; conf/base/parameters_*.yml describes every parameter."
            )


def invalid_values(params: dict[str, Any], types: dict[str, type]) -> list[tuple[str, Any, str]]:
    """(dotted key, value, reason) for each value in ``params`` that its type refuses."""
    problems: dict[str, tuple[Any, list[str]]] = {}
    for key, kind in types.items():
        if key not in params or not hasattr(kind, "model_validate"):
            continue
        try:
            kind.model_validate(params[key])
        except ValidationError as error:
            for detail in error.errors():
                path, value = _located(key, params[key], detail["loc"])
                reasons = problems.setdefault(path, (value, []))[1]
                reason = detail["msg"].removeprefix("Value error, ")
                reasons.append(reason[:1].lower() + reason[1:] if reasons else reason)
    return [(path, value, " or ".join(reasons)) for path, (value, reasons) in problems.items()]


def _located(key: str, value: Any, loc: tuple) -> tuple[str, Any]:
    """The dotted key (``train.numeric_features[2]``) and value that pydantic's ``loc`` points
    at. The parts of ``loc`` that name a member of a union (``float`` in
    ``class_weight.float``) are not keys and are left out."""
    path = key
    for n, part in enumerate(loc, 1):
        if isinstance(value, dict) and (part in value or n == len(loc)):
            path, value = f"{path}.{part}", value.get(part)  # None: a missing key
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            path, value = f"{path}[{part}]", value[part]
    return path, value


def _base_parameters(loader) -> dict[str, Any]:
    """The parameters of ``conf/base`` alone (no other environment, no ``--params``), read
    by a loader made as the project's settings make the run's."""
    base_env = loader.base_env
    args = {**settings.CONFIG_LOADER_ARGS, "base_env": base_env, "default_run_env": base_env}
    only_base = settings.CONFIG_LOADER_CLASS(conf_source=loader.conf_source, env=base_env, **args)
    return dict(only_base["parameters"])
