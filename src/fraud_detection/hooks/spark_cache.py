"""Spark caches that nodes create live only while a node of the run can still read them.

A node caches a DataFrame that later nodes read again (validation's rows laid out by
customer, the training rows). Once every node that can reach it in memory has run and its
outputs are saved, the cache is dead weight: its blocks fill the driver's heap for the rest
of the run (more garbage collection while the model trains) and, in a session that
outlives the run (a notebook, an all-purpose Databricks cluster, the tests), for as long as
the session lives. Nodes cache through :func:`fraud_detection.spark_cache.cache`;
:class:`SparkCacheHook` unpersists.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import CachedDataset, MemoryDataset
from kedro.io.shared_memory_dataset import SharedMemoryDataset
from kedro.pipeline import Pipeline
from pyspark.sql import DataFrame

from fraud_detection.spark_cache import take_created

logger = logging.getLogger(__name__)

# Datasets that hand the next node the saved object itself: a DataFrame read from one still
# reads the caches it was built on. Any other dataset writes and reads files.
IN_MEMORY = {f"{t.__module__}.{t.__qualname__}"
             for t in (MemoryDataset, CachedDataset, SharedMemoryDataset)}


def in_memory_readers(pipeline: Pipeline, catalog: Any) -> dict[str, set[str]]:
    """Per node, the nodes that can read its outputs without files in between.

    Its consumers through in-memory datasets (an unregistered output is a MemoryDataset),
    and theirs, transitively: they may read a DataFrame derived from the node's caches.
    """
    def in_memory(name: str) -> bool:
        kind = catalog.get_type(name)
        return kind is None or kind in IN_MEMORY

    consumers: dict[str, list[str]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node.name)
    readers: dict[str, set[str]] = {}
    for node in reversed(pipeline.nodes):  # topological order reversed: consumers first
        readers[node.name] = {
            reached
            for name in node.outputs if in_memory(name)
            for consumer in consumers.get(name, [])
            for reached in (consumer, *readers[consumer])
        }
    return readers


class SparkCacheHook:
    """Unpersists each node's caches once it and every in-memory reader ran and saved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # ThreadRunner calls the hooks from several threads
        self._readers: dict[str, set[str]] = {}
        self._unsaved: dict[str, int] = {}
        self._done: set[str] = set()
        self._held: list[tuple[DataFrame, set[str]]] = []

    @hook_impl
    def before_pipeline_run(self, pipeline: Pipeline, catalog: Any) -> None:
        take_created()  # cached outside a run (a node called directly): not this run's
        self._release(everything=True)  # what a run interrupted by Ctrl-C still held
        self._readers = in_memory_readers(pipeline, catalog)
        self._unsaved = {node.name: len(node.outputs) for node in pipeline.nodes}
        self._done = set()

    @hook_impl
    def after_node_run(self, node) -> None:
        # Runs before the node's outputs are saved: the saves still read these caches.
        needed_by = {node.name, *self._readers[node.name]}
        with self._lock:
            self._held += [(frame, needed_by) for frame in take_created()]
        if not node.outputs:
            self._node_done(node.name)

    @hook_impl
    def after_dataset_saved(self, node) -> None:
        with self._lock:
            self._unsaved[node.name] -= 1
            saved = not self._unsaved[node.name]
        if saved:
            self._node_done(node.name)

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release(everything=True)

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release(everything=True)

    def _node_done(self, name: str) -> None:
        with self._lock:
            self._done.add(name)
        self._release(everything=False)

    def _release(self, everything: bool) -> None:
        with self._lock:
            if everything:  # also what a failed node cached before it failed
                self._held += [(frame, set()) for frame in take_created()]
            going, kept = [], []
            for held in self._held:
                (going if everything or held[1] <= self._done else kept).append(held)
            self._held = kept
        for frame, needed_by in going:
            frame.unpersist()
            logger.debug("Released a Spark cache read by %s", sorted(needed_by))
