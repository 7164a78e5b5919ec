"""Export a fitted Spark pipeline (string indexer, assembler, decision tree) as plain data.

The JVM-free scorer (:mod:`fraud_detection.serving.tree`) evaluates what this writes: the
indexer's labels, the assembler's column order and every tree node (split feature, threshold
or left categories, children, and a leaf's class statistics), read through py4j from the
very stages the ``spark`` flavor saves. Doubles travel as JSON numbers written with Python's
shortest round-trip ``repr``, so every threshold and statistic is the JVM's exact double.
"""

from __future__ import annotations

from typing import Any

from pyspark.ml import PipelineModel
from pyspark.ml.classification import DecisionTreeClassificationModel
from pyspark.ml.feature import StringIndexerModel, VectorAssembler

from fraud_detection.serving.tree import FORMAT


class UnsupportedModelError(TypeError):
    """The pipeline has a stage the JVM-free scorer cannot evaluate."""


def export_pipeline(model: PipelineModel) -> dict[str, Any]:
    """The pipeline's stages as a JSON-ready dict (see :mod:`fraud_detection.serving.tree`)."""
    indexers, assembler, tree = [], None, None
    for stage in model.stages:
        if isinstance(stage, StringIndexerModel):
            indexers.append(_indexer(stage))
        elif isinstance(stage, VectorAssembler):
            assembler = stage
        elif isinstance(stage, DecisionTreeClassificationModel):
            tree = stage
        else:
            raise UnsupportedModelError(
                f"model export: stage {type(stage).__name__} has no JVM-free equivalent; the "
                "online flavor evaluates StringIndexer, VectorAssembler and "
                "DecisionTreeClassifier pipelines")
    if assembler is None or tree is None:
        raise UnsupportedModelError("model export: the pipeline needs a VectorAssembler and a "
                                    "DecisionTreeClassificationModel")
    return {
        "format": FORMAT,
        "indexers": indexers,
        "features": list(assembler.getInputCols()),
        "num_classes": int(tree.numClasses),
        "nodes": _nodes(tree),
    }


def _indexer(stage: StringIndexerModel) -> dict[str, Any]:
    if stage.getHandleInvalid() not in ("keep", "error"):
        raise UnsupportedModelError(
            f"model export: StringIndexer handleInvalid={stage.getHandleInvalid()!r}; the online "
            "flavor supports 'keep' and 'error'")
    return {
        "inputs": list(stage.getInputCols()),
        "outputs": list(stage.getOutputCols()),
        "labels": [list(labels) for labels in stage.labelsArray],
        "handle_invalid": stage.getHandleInvalid(),
    }


def _nodes(tree: DecisionTreeClassificationModel) -> list[dict[str, Any]]:
    """The nodes in pre-order; a node's children are indexes into the list (``-1`` at a leaf).

    One py4j call per fact: trees of the project's depth have at most a few hundred nodes.
    """
    nodes: list[dict[str, Any]] = []
    pending = [(tree._call_java("rootNode"), -1, "")]
    while pending:
        java, parent, side = pending.pop()
        index = len(nodes)
        if parent >= 0:
            nodes[parent][side] = index
        node: dict[str, Any] = {"left": -1, "right": -1}
        if java.getClass().getSimpleName() == "InternalNode":
            split = java.split()
            node["feature"] = int(split.featureIndex())
            if split.getClass().getSimpleName() == "ContinuousSplit":
                node["threshold"] = float(split.threshold())
            else:
                node["left_categories"] = [float(c) for c in split.leftCategories()]
            pending += [(java.rightChild(), index, "right"), (java.leftChild(), index, "left")]
        else:
            node["stats"] = [float(s) for s in java.impurityStats().stats()]
        nodes.append(node)
    return nodes
