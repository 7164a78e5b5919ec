"""SparkMLModelDataset: versioned save and load of a fitted PipelineModel."""

from __future__ import annotations

from pathlib import Path

from kedro.io.core import Version
from pyspark.ml import Pipeline
from pyspark.ml.feature import StringIndexer

from fraud_detection.datasets import SparkMLModelDataset
from fraud_detection.datasets.versioned import VersionRecord


def test_versioned_round_trip_keeps_each_version(spark, tmp_path):
    data = spark.createDataFrame([("a",), ("b",), ("b",)], "kind string")
    model = Pipeline(stages=[StringIndexer(inputCol="kind", outputCol="idx")]).fit(data)
    path = str(tmp_path / "model")

    first = SparkMLModelDataset(filepath=path, version=Version(None, "2026-01-01T00.00.00.000Z"))
    assert not first.exists()
    first.save(model)
    second = SparkMLModelDataset(filepath=path, version=Version(None, "2026-01-02T00.00.00.000Z"))
    second.save(model)

    assert (tmp_path / "model" / "2026-01-01T00.00.00.000Z" / "model" / "metadata").is_dir()
    latest = SparkMLModelDataset(filepath=path, version=Version(None, None))
    assert latest.exists()
    loaded = latest.load()
    assert [r["idx"] for r in loaded.transform(data).collect()] == [1.0, 0.0, 0.0]
    assert latest.resolve_load_version() == "2026-01-02T00.00.00.000Z"
    # What the hooks learn (TracksVersions): the version, and Spark's path of its folder.
    folder = f"{path}/2026-01-02T00.00.00.000Z/model"
    assert latest.loaded_version() == VersionRecord(
        "kedro", f"file://{folder}@2026-01-02T00.00.00.000Z", "2026-01-02T00.00.00.000Z",
        folder, files=(Path(folder),), immutable=True)
    assert second.saved_version().path == folder and second.saved_version().immutable
    assert SparkMLModelDataset(filepath=path).saved_version() is None  # not versioned
