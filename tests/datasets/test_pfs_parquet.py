"""PfsParquetDataset: the same rows give the same file names and bytes, whatever their order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kedro.io import DatasetError

from fraud_detection.datasets.pfs_parquet import PfsParquetDataset

ROWS = [(i % 3, f"C{i:04d}", float(i) * 1.5, None if i % 5 == 0 else "x") for i in range(40)]
COLUMNS = ["shard", "nameOrig", "amount", "note"]


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _save(spark, rows, folder, partition_by="shard"):
    frame = spark.createDataFrame(rows, "shard int, nameOrig string, amount double, note string")
    PfsParquetDataset(input_path=str(folder), output_path=str(folder),
                      partition_by=partition_by).save(frame.repartition(3))
    return _files(folder)


def test_one_content_named_file_per_shard_that_loads_back(spark, tmp_path):
    files = _save(spark, ROWS, tmp_path / "shards")
    assert sorted(name.split("/")[0] for name in files) == ["shard=0", "shard=1", "shard=2"]
    for name in files:
        assert name.split("/")[1].startswith("part-") and name.endswith(".parquet")
    loaded = PfsParquetDataset(input_path=str(tmp_path / "shards"),
                               output_path=str(tmp_path / "unused")).load()
    assert sorted(tuple(r[c] for c in COLUMNS) for r in loaded.collect()) == sorted(ROWS)


# Few examples, no shrinking: each one is two Spark writes.
@settings(max_examples=3, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(ROWS))
def test_same_rows_in_any_order_give_the_same_files(spark, tmp_path_factory, order):
    first = _save(spark, ROWS, tmp_path_factory.mktemp("a") / "out")
    assert _save(spark, list(order), tmp_path_factory.mktemp("b") / "out") == first


def test_changing_one_shard_changes_only_its_file(spark, tmp_path):
    before = _save(spark, ROWS, tmp_path / "before")
    after = _save(spark, [*ROWS, (1, "C9999", 1.0, "y")], tmp_path / "after")
    assert {k: v for k, v in after.items() if not k.startswith("shard=1/")} == {
        k: v for k, v in before.items() if not k.startswith("shard=1/")}
    assert {k for k in after if k.startswith("shard=1/")}.isdisjoint(before)


def test_refuses_an_output_that_already_holds_files_and_a_missing_input(spark, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.parquet").write_bytes(b"x")
    frame = spark.createDataFrame(ROWS, COLUMNS)
    with pytest.raises(DatasetError, match="already holds files"):
        PfsParquetDataset(input_path="x", output_path=str(tmp_path / "out")).save(frame)
    with pytest.raises(DatasetError, match=r"no parquet file under .*missing.*glob"):
        PfsParquetDataset(input_path=str(tmp_path / "missing"), output_path="y").load()
