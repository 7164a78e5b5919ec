"""Parameters that ``conf/base`` does not define are refused before the run starts.

Kedro adds any key given with ``--params`` (or in an environment's parameters file) to the
parameters, so a misspelt ``--params train.model.max_dept=5`` would train the default depth
while the run's record said otherwise. Under each top-level key that ``conf/base`` defines
(``train``, ``split`` ...) every key must exist there; other top-level keys (``spark``,
``databricks``: settings the configuration reads through ``runtime_params``) are not
parameters of a node and are left alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.project import settings


class UnknownParameterError(ValueError):
    """A parameter key that ``conf/base`` does not define; raised before any work."""


def key_paths(params: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted key of a nested dict, intermediate ones included."""
    for key, value in params.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path
        if isinstance(value, dict):
            yield from key_paths(value, path)


def unknown_keys(params: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """The keys of ``params`` under a top-level key of ``base`` that ``base`` lacks."""
    defined = set(key_paths(base))
    return sorted(path for path in key_paths(params)
                  if path.split(".", 1)[0] in base and path not in defined
                  and path.rsplit(".", 1)[0] in defined)  # the outermost unknown key only


class ParameterCheckHook:
    """Checks the run's parameters against ``conf/base`` when the context is created."""

    @hook_impl
    def after_context_created(self, context) -> None:
        loader = context.config_loader
        base = _base_parameters(loader)
        unknown = unknown_keys(dict(loader["parameters"]), base)
        if not unknown:
            return
        given = set(key_paths(loader.runtime_params or {}))
        defined = list(key_paths(base))
        described = []
        for key in unknown:
            where = "--params" if key in given else f"conf/{context.env or 'local'}"
            close = difflib.get_close_matches(key, defined, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            described.append(f"{key} (from {where}{hint})")
        raise UnknownParameterError(
            "parameters that conf/base/parameters_*.yml does not define, so no node would "
            f"read them: {', '.join(described)}. Correct each key, or define it in conf/base."
        )


def _base_parameters(loader) -> dict[str, Any]:
    """The parameters of ``conf/base`` alone (no other environment, no ``--params``), read
    by a loader made as the project's settings make the run's."""
    base_env = loader.base_env
    args = {**settings.CONFIG_LOADER_ARGS, "base_env": base_env, "default_run_env": base_env}
    only_base = settings.CONFIG_LOADER_CLASS(conf_source=loader.conf_source, env=base_env, **args)
    return dict(only_base["parameters"])
