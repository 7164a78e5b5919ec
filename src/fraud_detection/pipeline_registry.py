"""Project pipelines: every folder under ``pipelines/`` is found automatically."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Pipelines that make up one training run, in data-flow order.
TRAINING = ("split", "aggregate", "train")


def register_pipelines() -> dict[str, Pipeline]:
    """``__default__`` is the training run; ``data_generation`` and ``score`` run on request."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["training"] = sum((pipelines[name] for name in TRAINING), Pipeline([]))
    pipelines["__default__"] = pipelines["training"]
    return pipelines
