"""The Spark caches nodes create, noted per thread for the run to release.

A node caches a DataFrame that later nodes read again (validation's rows laid out by
customer, the training rows) through :func:`cache`. Nodes are pure functions and know
nothing of the run, so this foundation module only notes what the node running in this
thread cached; ``hooks.spark_cache.SparkCacheHook`` takes those notes after each node and
unpersists each cache once no node of the run can read it any more.
"""

from __future__ import annotations

import threading

from pyspark.sql import DataFrame


class _Created(threading.local):
    """What this thread cached since the hook last looked: the node running in it did."""

    def __init__(self) -> None:
        self.frames: list[DataFrame] = []


_created = _Created()


def cache(df: DataFrame) -> DataFrame:
    """``df.persist()``, released by the run once no node can read it any more."""
    cached = df.persist()
    _created.frames.append(cached)
    return cached


def take_created() -> list[DataFrame]:
    """The DataFrames this thread cached since the last call; forgets them here."""
    frames, _created.frames = _created.frames, []
    return frames
