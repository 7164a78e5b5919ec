"""Lineage read off the pipeline graph: the stored datasets each output was derived from."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.io import CachedDataset, DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro_datasets.json import JSONDataset

from fraud_detection.naming import is_parameters
from fraud_detection.pipelines.aggregate.pipeline import create_pipeline as aggregate
from fraud_detection.pipelines.score.pipeline import create_pipeline as score
from fraud_detection.pipelines.split.pipeline import create_pipeline as split
from fraud_detection.pipelines.train.pipeline import create_pipeline as train
from fraud_detection.tracking.lineage import in_memory_datasets, node_lineage
from tests.kedro_project import REPO
from tests.provenance_expected import SCORING, TRAINING, TRAINING_NODES


def _any(*args):
    return None


def _node(name: str, inputs: list[str], outputs: list[str]) -> Node:
    return Node(_any, inputs=inputs, outputs=outputs, name=name)


def _lineages(pipeline: Pipeline, in_memory) -> dict[str, object]:
    return {output: node_lineage(pipeline, node, in_memory)
            for node in pipeline.nodes for output in node.outputs}


def _catalog(env: str) -> DataCatalog:
    loader = OmegaConfigLoader(str(REPO / "conf"), base_env="base", default_run_env="local",
                               env=env)
    try:
        credentials = loader["credentials"]
    except MissingConfigException:  # conf/local/ holds none in the repository
        credentials = {}
    return DataCatalog.from_config(loader["catalog"], credentials)


@pytest.mark.parametrize("env", ["local", "pachyderm"])
def test_each_training_output_derives_from_exactly_the_stored_datasets_it_was_made_from(env):
    lineages = _lineages(split() + aggregate() + train(), in_memory_datasets(_catalog(env)))
    stored = {name: lineage for name, lineage in lineages.items()
              if not in_memory_datasets(_catalog(env))(name)}
    assert {name: (set(lin.inputs), set(lin.parameters)) for name, lin in stored.items()} == (
        TRAINING)
    assert {name: (lin.node, list(lin.through)) for name, lin in stored.items()} == (
        TRAINING_NODES)
    assert all(not lin.unsaved for lin in lineages.values())


def test_each_scoring_output_derives_from_the_batch_its_report_and_the_model():
    catalog = _catalog("local")
    lineages = _lineages(score(), in_memory_datasets(catalog))
    assert {name: (set(lineages[name].inputs), set(lineages[name].parameters))
            for name in SCORING} == SCORING


def test_in_memory_paths_are_followed_through_a_diamond_to_stored_datasets_only():
    pipeline = Pipeline([
        _node("load", ["raw", "params:a"], ["cleaned"]),
        _node("left", ["cleaned", "params:b"], ["features"]),
        _node("right", ["cleaned", "lookup"], ["labels"]),
        _node("join", ["features", "labels", "unrelated_stored"], ["table"]),
        _node("fit", ["table", "params:c"], ["model"]),
    ])
    stored = {"raw", "lookup", "unrelated_stored", "table", "model"}
    [join] = [n for n in pipeline.nodes if n.name == "join"]
    lineage = node_lineage(pipeline, join, lambda name: name not in stored)
    assert lineage.inputs == ("lookup", "raw", "unrelated_stored")
    assert lineage.parameters == ("params:a", "params:b")
    assert lineage.through == ("load", "left", "right")
    [fit] = [n for n in pipeline.nodes if n.name == "fit"]
    # A stored intermediate ends the path: the model derives from the table, not the raw data.
    assert node_lineage(pipeline, fit, lambda name: name not in stored).inputs == ("table",)


def test_declared_memory_datasets_are_followed_and_cached_ones_are_stored(tmp_path: Path):
    catalog = DataCatalog({
        "declared": MemoryDataset(),
        "cached": CachedDataset(JSONDataset(filepath=str(tmp_path / "c.json"))),
        "raw": JSONDataset(filepath=str(tmp_path / "raw.json")),
    })
    pipeline = Pipeline([
        _node("a", ["raw"], ["declared"]),
        _node("b", ["declared"], ["cached"]),
        _node("c", ["cached", "runtime_only"], ["out"]),
        _node("d", ["handed_in", "parameters"], ["other"]),
    ])
    lineages = _lineages(pipeline, in_memory_datasets(catalog))
    assert lineages["cached"].inputs == ("raw",) and lineages["cached"].through == ("a",)
    assert lineages["out"].inputs == ("cached",)
    # An in-memory input no node produced (data handed to the run) has nothing stored.
    assert lineages["other"].inputs == () and lineages["other"].unsaved == ("handed_in",)
    assert lineages["other"].parameters == ("parameters",)


def test_transcoded_datasets_are_stored_on_both_sides():
    pipeline = Pipeline([_node("write", ["params:n"], ["raw@pandas"]),
                         _node("read", ["raw@spark"], ["rows"])])
    catalog = DataCatalog({"raw@pandas": MemoryDataset(), "raw@spark": MemoryDataset()})
    stored = {"raw@pandas", "raw@spark"}
    lineages = _lineages(pipeline, lambda name: name not in stored)
    assert lineages["rows"].inputs == ("raw@spark",) and lineages["rows"].parameters == ()
    assert in_memory_datasets(catalog)("raw@spark")  # declared MemoryDatasets: in memory


def _reference(pipeline: Pipeline, node: Node, stored: set[str]) -> tuple[set, set]:
    """The definition, recursively: an input's sources are itself when stored, else those
    of the node that produced it (nothing when no node did)."""
    producers = {out: n for n in pipeline.nodes for out in n.outputs}

    def sources(name: str) -> tuple[set, set]:
        if is_parameters(name):
            return set(), {name}
        if name in stored:
            return {name}, set()
        if name not in producers:
            return set(), set()
        return behind(producers[name])

    def behind(n: Node) -> tuple[set, set]:
        data, params = set(), set()
        for name in n.inputs:
            more_data, more_params = sources(name)
            data |= more_data
            params |= more_params
        return data, params

    return behind(node)


@st.composite
def graphs(draw) -> tuple[Pipeline, set[str]]:
    """A random DAG: each node reads earlier outputs, free datasets and parameters."""
    free = [f"free{i}" for i in range(draw(st.integers(0, 3)))]
    params = [f"params:p{i}" for i in range(3)]
    available, nodes, datasets = list(free), [], set(free)
    for i in range(draw(st.integers(1, 8))):
        inputs = draw(st.lists(st.sampled_from(available + params), unique=True, max_size=4)
                      ) if available else draw(st.lists(st.sampled_from(params), unique=True))
        outputs = [f"d{i}_{j}" for j in range(draw(st.integers(1, 2)))]
        nodes.append(_node(f"n{i}", inputs, outputs))
        available += outputs
        datasets |= set(outputs)
    stored = {name for name in sorted(datasets) if draw(st.booleans())}
    return Pipeline(nodes), stored


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_lineage_matches_the_recursive_definition(graph):
    pipeline, stored = graph
    for node in pipeline.nodes:
        lineage = node_lineage(pipeline, node, lambda name: name not in stored)
        data, params = _reference(pipeline, node, stored)
        assert set(lineage.inputs) == data and set(lineage.parameters) == params
        assert set(lineage.inputs) <= stored
        # Every node passed through produced an in-memory dataset on the way.
        for name in lineage.through:
            [step] = [n for n in pipeline.nodes if n.name == name]
            assert any(out not in stored for out in step.outputs)
