"""Walking nested configuration: dotted keys, the value at one, and the closest known key.

Parameters, ``mlflow.yml`` and metrics are nested dicts; errors and MLflow records name a
value by its dotted key (``train.model.max_depth``). Every module that walks such a dict
uses these, so a key is spelt the same way in an error, a param and a metric.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any


def key_paths(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted key of a nested dict, intermediate ones included."""
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path
        if isinstance(value, Mapping):
            yield from key_paths(value, path)


def leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every value that is not a non-empty dict; an empty dict is
    a value (a parameter can be ``{}``)."""
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from leaves(value, path)
        else:
            yield path, value


def value_at(tree: Any, keys: Sequence[str]) -> Any:
    """The value at ``keys`` (``["train", "model"]``), or None where a key is missing."""
    for key in keys:
        tree = tree.get(key) if isinstance(tree, Mapping) else None
    return tree


def has_path(tree: Any, keys: Sequence[str]) -> bool:
    """Whether ``keys`` lead to a value (None included) in the nested dict ``tree``."""
    for key in keys:
        if not isinstance(tree, Mapping) or key not in tree:
            return False
        tree = tree[key]
    return True


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known key a misspelt ``name`` most likely meant, or None when none is close."""
    matches = difflib.get_close_matches(name, list(known), n=1)
    return matches[0] if matches else None
