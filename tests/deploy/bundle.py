"""Read the Databricks Asset Bundle offline: merge includes and targets, validate, load jobs.

``databricks bundle validate`` needs a workspace login, so the tests do what it does offline:
merge ``databricks.yml`` with its included ``resources/*.yml``, validate the result against the
published JSON schema, apply a target's overrides the way the CLI does (tasks, job clusters
and environments matched by their keys), and load the jobs with the typed classes of the
``databricks-bundles`` package.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import regex
import yaml

from tests.kedro_project import REPO

SCHEMA = REPO.parent / "shared" / "schemas" / "databricks" / "bundle_schema.json"

# Sequences whose elements the CLI merges by key when a target overrides them.
KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
    "parameters": "name",
}
_VAR = re.compile(r"\$\{var\.([A-Za-z0-9_-]+)\}")


def read_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text()) or {}


def merged_bundle(root: Path = REPO) -> dict[str, Any]:
    """``databricks.yml`` with every included file merged in (maps merged, lists appended)."""
    config = read_yaml(root / "databricks.yml")
    for pattern in config.get("include", []):
        for path in sorted(root.glob(pattern)):
            _merge(config, read_yaml(path), keyed=False)
    return config


def for_target(bundle: dict[str, Any], target: str) -> dict[str, Any]:
    """The configuration one target deploys: its overrides applied, ``targets`` removed."""
    config = copy.deepcopy(bundle)
    targets = config.pop("targets")
    override = copy.deepcopy(targets[target])
    for key in ("default", "mode"):  # target-only settings
        override.pop(key, None)
    variables = override.pop("variables", {})
    _merge(config, override, keyed=True)
    for name, value in variables.items():
        config["variables"][name]["default"] = value.get("default") if isinstance(
            value, dict) else value
    return config


def variable_values(config: dict[str, Any]) -> dict[str, Any]:
    return {name: spec.get("default") for name, spec in config.get("variables", {}).items()}


def resolve_variables(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute ``${var.x}`` as the CLI does: a whole-string reference keeps the type."""
    if isinstance(value, dict):
        return {k: resolve_variables(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_variables(v, variables) for v in value]
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole:
            return variables[whole.group(1)]
        return _VAR.sub(lambda m: str(variables[m.group(1)]), value)
    return value


def _merge(base: dict[str, Any], override: dict[str, Any], keyed: bool) -> None:
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, keyed)
        elif isinstance(value, list) and isinstance(base.get(key), list):
            if keyed and key in KEYED_LISTS:
                base[key] = _merge_by_key(base[key], value, KEYED_LISTS[key])
            else:
                base[key] = base[key] + copy.deepcopy(value)
        else:
            base[key] = copy.deepcopy(value)


def _merge_by_key(base: list[dict], override: list[dict], key: str) -> list[dict]:
    merged = {item[key]: copy.deepcopy(item) for item in base}
    for item in override:
        if item[key] in merged:
            _merge(merged[item[key]], item, keyed=True)
        else:
            merged[item[key]] = copy.deepcopy(item)
    return list(merged.values())


# --- JSON schema -----------------------------------------------------------------------

def _regex_pattern(validator, pattern, instance, schema):
    """``pattern`` with the ``regex`` package: the schema's patterns use ``\\p{L}`` (RE2)."""
    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str):
    return regex.compile(pattern)


@lru_cache(maxsize=1)
def bundle_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    base = jsonschema.Draft202012Validator
    validator_class = jsonschema.validators.extend(base, {"pattern": _regex_pattern})
    return validator_class(schema)


def schema_errors(config: dict[str, Any]) -> list[str]:
    """Every violation as ``path: message``, descending into oneOf/anyOf to the real leaf."""
    found = []
    for error in bundle_validator().iter_errors(config):
        for leaf in _leaves(error):
            path = "/".join(str(p) for p in leaf.absolute_path) or "<root>"
            found.append(f"{path}: {leaf.message}")
    return sorted(set(found))


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    if not error.context:
        return [error]
    # Of the alternatives, keep the branch that got furthest into the document: that is the
    # one the author meant (the object form rather than the "${var.x}" string form).
    # A type mismatch only says that another alternative was meant.
    deepest = max(len(e.absolute_path) for e in error.context)
    candidates = [e for e in error.context if len(e.absolute_path) == deepest]
    meant = [e for e in candidates if e.validator != "type"] or candidates
    return [leaf for sub in meant for leaf in _leaves(sub)]
