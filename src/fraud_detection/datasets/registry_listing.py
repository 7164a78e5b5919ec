"""What the MLflow registry offers, for an error about a model, version or alias it lacks.

Read-only listing: the registered-model dataset and the ``kedro provenance`` model query
both name the alternatives when a name, version or alias is unknown. It sits in the datasets
layer, below the tracking code that registers versions, so the dataset need not import it.
"""

from __future__ import annotations

from typing import Any

from mlflow import MlflowClient
from mlflow.entities.model_registry import RegisteredModel

_SHOWN = 20  # names listed in an error message


def registered_refs(client: MlflowClient, registered: RegisteredModel) -> str:
    """``aliases: challenger -> 3, champion -> 2; versions: 1, 2, 3``: what an error about a
    version or alias that the ``registered`` model lacks offers instead."""
    quoted = registered.name.replace("'", "\\'")
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{quoted}'"))
    shown = ", ".join(f"{alias} -> {version}"
                      for alias, version in sorted((registered.aliases or {}).items()))
    return f"aliases: {shown or 'none'}; versions: {listed(map(str, versions))}"


def registered_model_names(client: MlflowClient) -> str:
    """The registered models' names, for an error about one that does not exist."""
    return listed(sorted(m.name for m in client.search_registered_models(max_results=_SHOWN + 1)))


def listed(names: Any) -> str:
    """At most the first ``_SHOWN`` names, comma-separated; ``none`` when there are none."""
    names = list(names)
    if not names:
        return "none"
    more = " (and more)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more
