"""What a provenance record says about one output: what it was derived from.

The same content goes beside a local version (``provenance.json``) and into a Pachyderm
commit (its description and ``/.provenance/`` file), so that either answers on its own
"which exact data and parameters made this?" without the MLflow server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import to_jsonable_python

from .lineage import Lineage
from .versions import DatasetVersion


def derivation(lineage: Lineage, read: Mapping[str, DatasetVersion],
               parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The node, the in-memory steps before it, the stored versions and the parameters.

    ``read``: the version of each dataset the run's nodes read; ``parameters``: the values
    they read. A stored input with no version to name (a dataset that reports none) is
    still listed, by name.
    """
    record: dict[str, Any] = {
        "node": lineage.node,
        "derived_through": list(lineage.through),
        "inputs": {name: _version(name, read) for name in lineage.inputs},
        "parameters": {name: to_jsonable_python(parameters.get(name), fallback=str)
                       for name in lineage.parameters},
    }
    if lineage.unsaved:
        record["unsaved_inputs"] = list(lineage.unsaved)
    return record


def input_commits(lineage: Lineage, read: Mapping[str, DatasetVersion]) -> dict[str, str]:
    """``dataset -> commit ID`` of the lineage's inputs that are Pachyderm commits."""
    return {name: read[name].version for name in lineage.inputs
            if name in read and read[name].kind == "pachyderm" and read[name].version}


def _version(name: str, read: Mapping[str, DatasetVersion]) -> dict[str, Any]:
    version = read.get(name)
    return version.as_dict() if version is not None else {"name": name}
