"""Which stored datasets an output was derived from, read off the Kedro pipeline graph.

A node's output derives from the node's inputs. An input held only in memory (a dataset the
catalog does not declare, e.g. ``train_set``) is no version anyone can look up again, so it
is followed back to the node that produced it, and that node's inputs are taken in its
place, until every path ends at a stored dataset (``fraud_model`` <- ``train_set`` <-
``model_input_table``). The parameters the nodes on those paths read are kept apart: they
are values, not data versions. What a node did at run time is not looked at: a node reads
all its inputs, so the graph is the exact answer at node granularity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kedro.io import MemoryDataset
from kedro.io.shared_memory_dataset import SharedMemoryDataset
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from fraud_detection.naming import is_parameters

from .versions import stored_dataset


@dataclass(frozen=True)
class Lineage:
    """What the outputs of one node were derived from.

    ``node`` produced them; ``through`` are the nodes before it whose in-memory outputs it
    read (directly or not), in run order; ``inputs`` the stored datasets at the ends of
    those paths; ``parameters`` what any of these nodes read; ``unsaved`` in-memory inputs
    that no node of the run produced (data handed to the run directly): nothing stored
    to name for them.
    """

    node: str
    through: tuple[str, ...]
    inputs: tuple[str, ...]
    parameters: tuple[str, ...]
    unsaved: tuple[str, ...] = ()


def node_lineage(pipeline: Pipeline, node: Node, in_memory: Callable[[str], bool]) -> Lineage:
    """The stored datasets and parameters behind ``node``'s outputs in ``pipeline``."""
    producers = {output: producer for producer in pipeline.nodes for output in producer.outputs}
    inputs, parameters, unsaved, reached = set(), set(), set(), {node.name}
    waiting = [node]
    while waiting:
        for name in waiting.pop().inputs:
            producer = producers.get(name)
            if is_parameters(name):
                parameters.add(name)
            elif not in_memory(name):
                inputs.add(name)
            elif producer is None:
                unsaved.add(name)
            elif producer.name not in reached:
                reached.add(producer.name)
                waiting.append(producer)
    through = tuple(n.name for n in pipeline.nodes if n.name in reached and n.name != node.name)
    return Lineage(node.name, through, tuple(sorted(inputs)), tuple(sorted(parameters)),
                   tuple(sorted(unsaved)))


def in_memory_datasets(catalog: Any) -> Callable[[str], bool]:
    """Whether a dataset of ``catalog`` lives only in memory during the run.

    A name the catalog does not declare becomes Kedro's runtime ``MemoryDataset``; a
    declared ``MemoryDataset`` (or ParallelRunner's ``SharedMemoryDataset``) is one too. A
    ``CachedDataset`` hands the object on in memory but also saves it: it is stored.
    """
    def check(name: str) -> bool:
        dataset = catalog.get(name) if name in catalog else None
        return dataset is None or isinstance(stored_dataset(dataset),
                                             (MemoryDataset, SharedMemoryDataset))

    return check
