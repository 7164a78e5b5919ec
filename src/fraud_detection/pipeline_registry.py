"""Project pipelines: every folder under ``pipelines/`` is found automatically."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The pipelines of one training run (``kedro run``), in data-flow order.
TRAINING = ("split", "aggregate", "train")


def register_pipelines() -> dict[str, Pipeline]:
    """``__default__`` is the training run; other pipelines run with ``--pipelines <name>``.

    Kedro loads only the pipelines a command asks for, so the default is composed only
    when its parts were loaded.
    """
    pipelines = find_pipelines(raise_errors=True)
    if all(name in pipelines for name in TRAINING):
        pipelines["__default__"] = sum((pipelines[name] for name in TRAINING), Pipeline([]))
    return pipelines
