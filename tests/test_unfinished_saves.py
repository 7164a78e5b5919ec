"""A failed or interrupted run leaves no unfinished version as a dataset's newest one.

Real Spark writes to a real Kedro versioned dataset. The write fails part-way through its
tasks, or is stopped with Ctrl-C (SIGINT to a real process). Kedro then loads the last
complete version again, instead of failing on an empty folder.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, Version
from kedro.io.core import generate_timestamp
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.spark import SparkDatasetV2
from pyspark.sql import functions as F

from fraud_detection.hooks.unfinished_saves import UnfinishedSavesHook
from tests.kedro_project import start_script, versions


def _versioned(path: Path, save_version: str | None = None) -> SparkDatasetV2:
    """A versioned dataset as a Kedro session makes it: the run's save version is fixed."""
    return SparkDatasetV2(filepath=str(path), file_format="parquet",
                          version=Version(None, save_version or generate_timestamp()))


@pytest.mark.parametrize("ended_by", ["on_pipeline_error", "before_pipeline_run"])
def test_a_failed_save_is_removed_and_the_last_complete_version_loads(
    spark, tmp_path, ended_by
):
    """Removed when the run fails, or when a notebook's next run starts (after Ctrl-C, which
    calls no hook)."""
    path = tmp_path / "table.parquet"
    _versioned(path).save(spark.range(3))
    complete = versions(path)
    run_version = generate_timestamp()
    catalog = DataCatalog({"table": _versioned(path, run_version),
                           "notes": _versioned(tmp_path / "notes", run_version)})

    def failing_rows():  # tasks fail part-way through the write
        return spark.range(1000).withColumn(
            "checked", F.when(F.col("id") > 500, F.raise_error(F.lit("bad row"))))

    hook = UnfinishedSavesHook()
    manager = _create_hook_manager()
    manager.register(hook)
    hook.after_catalog_created(catalog)
    hook.before_pipeline_run()
    pipeline = Pipeline([Node(lambda: spark.range(2), None, "notes", name="notes"),
                         Node(failing_rows, None, "table", name="table")])
    with pytest.raises(Exception, match="bad row"):
        SequentialRunner().run(pipeline, catalog, hook_manager=manager)
    assert len(versions(path)) == 2  # Spark left the failed save's folder

    getattr(hook, ended_by)()

    assert versions(path) == complete
    assert _versioned(path).load().count() == 3
    assert _versioned(tmp_path / "notes").load().count() == 2  # a finished save stays


STOPPED_SAVE = """
import sys
import time
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, Version
from kedro.io.core import generate_timestamp
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.spark import SparkDatasetV2
from pyspark.sql import SparkSession, functions as F

from fraud_detection.hooks.unfinished_saves import UnfinishedSavesHook

spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.log.level", "ERROR").getOrCreate())


@F.udf("long")
def slowly(value):
    time.sleep(0.2)
    return value


table = SparkDatasetV2(filepath=sys.argv[1], file_format="parquet",
                       version=Version(None, generate_timestamp()))
catalog = DataCatalog({"table": table})
hook = UnfinishedSavesHook()
manager = _create_hook_manager()
manager.register(hook)
hook.after_catalog_created(catalog)
hook.before_pipeline_run()
# One row per task: a task that is not cancelled writes its files again within 0.2 s.
rows = Node(lambda: spark.range(0, 1000, 1, 1000).select(slowly("id").alias("id")), None,
            "table", name="rows")
SequentialRunner().run(Pipeline([rows]), catalog, hook_manager=manager)
"""


def test_a_save_stopped_with_ctrl_c_is_removed_at_exit(spark, tmp_path):
    path = tmp_path / "table.parquet"
    _versioned(path).save(spark.range(3))
    complete = versions(path)
    process, log = start_script(STOPPED_SAVE, str(path), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not list(path.glob("*/table.parquet/_temporary")):  # the write has begun
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        process.kill()

    output = log.read_text()
    assert "KeyboardInterrupt" in output
    assert "table: removed the version this run did not finish saving" in output
    assert versions(path) == complete
    assert _versioned(path).load().count() == 3
