"""A node's Spark cache lives until its last in-memory reader ran and saved, then goes."""

from __future__ import annotations

from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import CachedDataset, DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.spark import SparkDatasetV2
from pyspark import StorageLevel

from fraud_detection.hooks.spark_cache import SparkCacheHook, in_memory_readers
from fraud_detection.spark_cache import cache


def _catalog(tmp_path) -> DataCatalog:
    return DataCatalog({
        "derived": CachedDataset(SparkDatasetV2(filepath=str(tmp_path / "derived.parquet"),
                                                file_format="parquet")),
        "count": JSONDataset(filepath=str(tmp_path / "count.json")),
    })


def test_readers_follow_in_memory_datasets_and_stop_at_files(tmp_path):
    pipeline = Pipeline([
        Node(lambda: 1, None, "rows", name="make"),                # rows: a MemoryDataset
        Node(lambda r: r, "rows", "derived", name="derive"),       # derived: CachedDataset
        Node(lambda r: r, "rows", "side", name="side"),
        Node(lambda d: d, "derived", "count", name="count"),       # count: a JSON file
        Node(lambda c: c, "count", "after", name="after"),
    ])
    readers = in_memory_readers(pipeline, _catalog(tmp_path))
    assert readers == {
        "make": {"derive", "side", "count"},
        "derive": {"count"},
        "side": set(),
        "count": set(),
        "after": set(),
    }


class _Probe:
    """Records whether the cached frame is still cached at each step of the run."""

    def __init__(self, frames: list) -> None:
        self.frames, self.seen = frames, []

    def _note(self, step: str) -> None:
        if self.frames:
            self.seen.append((step, self.frames[0].storageLevel != StorageLevel.NONE))

    @hook_impl
    def before_node_run(self, node) -> None:
        self._note(f"before {node.name}")

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        self._note(f"saving {dataset_name}")


def test_cache_is_released_once_its_last_in_memory_reader_has_saved(spark, tmp_path):
    frames: list = []

    def make():
        frames.append(cache(spark.range(1000).withColumnRenamed("id", "n")))
        return frames[0]

    pipeline = Pipeline([
        Node(make, None, "rows", name="make"),
        Node(lambda rows: rows.where("n % 2 = 0"), "rows", "derived", name="derive"),
        Node(lambda derived: {"n": derived.count()}, "derived", "count", name="count"),
        Node(lambda count: count, "count", "after", name="after"),
    ])
    catalog = _catalog(tmp_path)
    hook, probe = SparkCacheHook(), _Probe(frames)
    manager = _create_hook_manager()
    manager.register(probe)
    manager.register(hook)
    hook.before_pipeline_run(pipeline=pipeline, catalog=catalog)
    SequentialRunner().run(pipeline, catalog, hook_manager=manager)
    hook.after_pipeline_run()

    assert probe.seen == [
        ("saving rows", True),
        ("before derive", True),
        ("saving derived", True),   # derive's parquet write still reads the cache
        ("before count", True),     # count reads derive's DataFrame, built on the cache
        ("saving count", True),
        ("before after", False),    # released: only a JSON file stands between
        ("saving after", False),
    ]
    assert catalog.load("count") == {"n": 500}


def test_everything_the_run_cached_goes_when_it_fails(spark, tmp_path):
    frames: list = []

    def make_then_fail():
        frames.append(cache(spark.range(10)))
        frames[0].count()
        raise RuntimeError("boom")

    pipeline = Pipeline([Node(make_then_fail, None, "rows", name="make")])
    hook = SparkCacheHook()
    hook.before_pipeline_run(pipeline=pipeline, catalog=DataCatalog())
    try:
        make_then_fail()
    except RuntimeError:
        hook.on_pipeline_error()
    assert frames[0].storageLevel == StorageLevel.NONE


def test_caches_made_outside_a_run_are_not_the_next_runs(spark):
    stray = cache(spark.range(5))
    hook = SparkCacheHook()
    hook.before_pipeline_run(pipeline=Pipeline([]), catalog=DataCatalog())
    hook.after_pipeline_run()
    assert stray.storageLevel != StorageLevel.NONE
    stray.unpersist()


def test_what_an_interrupted_run_held_goes_when_the_next_run_starts(spark, tmp_path):
    """Ctrl-C (KeyboardInterrupt) ends a notebook's run with no hook called."""
    frames: list = []

    def make():
        frames.append(cache(spark.range(10)))
        return frames[0]

    def interrupted(rows):
        raise KeyboardInterrupt

    pipeline = Pipeline([Node(make, None, "rows", name="make"),
                         Node(interrupted, "rows", "out", name="interrupted")])
    hook = SparkCacheHook()
    manager = _create_hook_manager()
    manager.register(hook)
    hook.before_pipeline_run(pipeline=pipeline, catalog=DataCatalog())
    try:
        SequentialRunner().run(pipeline, DataCatalog(), hook_manager=manager)
    except KeyboardInterrupt:
        pass
    assert frames[0].storageLevel != StorageLevel.NONE  # still held by the stopped run

    hook.before_pipeline_run(pipeline=Pipeline([]), catalog=DataCatalog())
    assert frames[0].storageLevel == StorageLevel.NONE
