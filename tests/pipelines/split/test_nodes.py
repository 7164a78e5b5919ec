"""Validation, quarantine and sharding of raw transactions, on hand-made files."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.parameters import AggregateParams, SplitParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.pipelines.split.nodes import (
    RawDataError,
    enforce_quarantine_threshold,
    shard_by_customer,
    validate_transactions,
)
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES, write_csv

SPLIT = SplitParams(n_shards=4, max_quarantine_fraction=0.01)


def load(spark, folder):
    return RawCsvDataset(filepath=str(folder)).load()


def test_valid_rows_are_typed_and_nothing_is_quarantined(spark, tmp_path):
    raw = load(spark, write_csv(tmp_path, VALID_LINES))
    valid, quarantine, report = validate_transactions(raw, SPLIT)
    rows = valid.orderBy("nameOrig").collect()
    assert [tuple(r) for r in rows] == [
        (1, "PAYMENT", 9839.64, "C1231006815", 170136.0, 160296.36, "M1979787155", 0.0, 0.0, 0, 0),
        (1, "TRANSFER", 181.0, "C1305486145", 181.0, 0.0, "C553264065", 0.0, 0.0, 1, 0),
    ]
    assert dict(valid.dtypes)["step"] == "int" and dict(valid.dtypes)["amount"] == "double"
    assert quarantine.count() == 0
    assert report["rows"] == 2 and report["quarantined"] == 0 and report["top_problems"] == {}
    assert report["source"] == str(tmp_path / "transactions.csv")


def test_malformed_rows_are_quarantined_with_their_reasons(spark, tmp_path):
    bad = [
        "2,PAYMENT,12x.5,C1,100.0,0.0,M2,0.0,0.0,0,0",
        "3,WIRE,10.0,C2,100.0,90.0,C3,0.0,10.0,0,0",
        "4,CASH_OUT,-5.0,C4,100.0,105.0,C5,0.0,0.0,0,0",
        "5,DEBIT,10.0,,100.0,90.0,C6,0.0,10.0,0,0",
    ]
    folder = write_csv(tmp_path, VALID_LINES + bad)
    valid, quarantine, report = validate_transactions(load(spark, folder), SPLIT)
    assert valid.count() == 2
    problems = {r["step"]: r["problems"] for r in quarantine.collect()}
    assert problems == {
        "2": "amount: not a number ('12x.5')",
        "3": "type: unknown value 'WIRE'",
        "4": "amount: negative",
        "5": "nameOrig: empty",
    }
    # Quarantined rows keep their original text and say where they came from.
    row = quarantine.where(F.col("step") == "2").first()
    assert row["amount"] == "12x.5" and row["source_file"].endswith("transactions.csv")
    assert report["rows"] == 6 and report["quarantined"] == 4
    assert report["quarantined_fraction"] == pytest.approx(4 / 6)
    assert report["top_problems"]["type: unknown value 'WIRE'"] == 1


def test_missing_column_names_file_column_and_header(spark, tmp_path):
    header = EXPECTED_HEADER.replace(",amount,", ",")
    lines = [line.replace(",9839.64,", ",").replace(",181.0,C13", ",C13") for line in VALID_LINES]
    folder = write_csv(tmp_path, lines, header=header)
    with pytest.raises(RawDataError) as err:
        validate_transactions(load(spark, folder), SPLIT)
    message = str(err.value)
    assert "column 'amount' missing" in message
    assert str(folder / "transactions.csv") in message
    assert EXPECTED_HEADER in message


def test_misnamed_column_suggests_the_rename(spark, tmp_path):
    folder = write_csv(tmp_path, VALID_LINES, header=EXPECTED_HEADER.replace("amount", "Amount"))
    with pytest.raises(RawDataError, match="rename column 'Amount' to 'amount'"):
        validate_transactions(load(spark, folder), SPLIT)


def test_unexpected_extra_column_is_an_error(spark, tmp_path):
    lines = [f"{line},x" for line in VALID_LINES]
    folder = write_csv(tmp_path, lines, header=EXPECTED_HEADER + ",comment")
    with pytest.raises(RawDataError, match="unexpected column 'comment'"):
        validate_transactions(load(spark, folder), SPLIT)


def test_column_of_the_wrong_type_is_an_error(spark, tmp_path):
    lines = [line.replace("1,PAYMENT", "one,PAYMENT").replace("1,TRANSFER", "two,TRANSFER")
             for line in VALID_LINES]
    folder = write_csv(tmp_path, lines)
    with pytest.raises(RawDataError) as err:
        validate_transactions(load(spark, folder), SPLIT)
    assert "column 'step' has the wrong type" in str(err.value)
    assert "expected an integer, found values like 'one'" in str(err.value)


def test_label_column_of_the_wrong_type_is_an_error(spark, tmp_path):
    lines = [line[: line.rindex(",", 0, line.rindex(","))] + ",no,0" for line in VALID_LINES]
    with pytest.raises(RawDataError) as err:
        validate_transactions(load(spark, write_csv(tmp_path, lines)), SPLIT)
    assert "column 'isFraud' has the wrong type" in str(err.value)
    assert "expected an integer, found values like 'no'" in str(err.value)


def test_label_other_than_0_1_is_an_error(spark, tmp_path):
    folder = write_csv(tmp_path, [*VALID_LINES, "7,TRANSFER,5.0,C9,5.0,0.0,C8,0.0,0.0,2,0"])
    with pytest.raises(RawDataError) as err:
        validate_transactions(load(spark, folder), SPLIT)
    assert "column 'isFraud' must be 0 or 1" in str(err.value)
    assert f"1 rows with other values (2; first at {folder / 'transactions.csv'} line 4)" in str(
        err.value)
    assert str(folder / "transactions.csv") in str(err.value)


def test_not_a_csv_file_is_an_error(spark, tmp_path):
    (tmp_path / "transactions.csv").write_bytes(b"PAR1\x15\x04\x15\x10\x00\x00binary parquet")
    with pytest.raises(RawDataError, match="column 'step' missing .* expected the header"):
        validate_transactions(load(spark, tmp_path), SPLIT)


def test_quarantine_threshold(spark):
    report = {"rows": 100, "quarantined": 2, "quarantined_fraction": 0.02,
              "source": "data/01_raw/x.csv", "top_problems": {"amount: negative": 2}}
    data = spark.range(3)
    lenient = SPLIT.model_copy(update={"max_quarantine_fraction": 0.05})
    assert enforce_quarantine_threshold(data, report, lenient) is data
    with pytest.raises(RawDataError) as err:
        enforce_quarantine_threshold(data, report, SPLIT)
    assert "2 of 100 rows in data/01_raw/x.csv are malformed (2.00%)" in str(err.value)
    assert "split.max_quarantine_fraction=0.01" in str(err.value)
    assert "quarantined_transactions" in str(err.value)


def test_shards_are_a_stable_hash_of_the_customer_one_per_partition(spark, tmp_path):
    lines = [f"{step},PAYMENT,10.0,{name},100.0,90.0,M1,0.0,0.0,0,0" for name, step in (
        ("C1231006815", 1), ("C1231006815", 2), ("C1305486145", 3), ("C553264065", 4))]
    sixteen = SPLIT.model_copy(update={"n_shards": 16})
    valid, _, _ = validate_transactions(load(spark, write_csv(tmp_path, lines)), sixteen)
    sharded = shard_by_customer(valid, sixteen)
    assert sharded.rdd.getNumPartitions() == 16
    rows = sharded.select("nameOrig", "step", "shard", F.spark_partition_id().alias("p")).collect()
    # Spark's Murmur3 hash (seed 42) mod 16: fixed values, the same on every machine and run...
    assert {(r["nameOrig"], r["step"]): r["shard"] for r in rows} == {
        ("C1231006815", 1): 3, ("C1231006815", 2): 3, ("C1305486145", 3): 2,
        ("C553264065", 4): 9}
    # ...and the partition each row is in, so every task writes exactly one shard directory.
    assert all(r["shard"] == r["p"] for r in rows)


def test_validated_rows_are_laid_out_for_the_history_window(spark, tmp_path):
    """Partitioned by customer and sorted in CUSTOMER_ORDER: the window neither shuffles
    nor sorts again."""
    lines = [f"{step},PAYMENT,{amount},C{step % 3},100.0,90.0,M1,0.0,0.0,0,0"
             for step, amount in ((5, 1.0), (1, 2.0), (3, 3.0), (2, 4.0), (4, 5.0), (1, 1.5))]
    valid, _, _ = validate_transactions(load(spark, write_csv(tmp_path, lines)), SPLIT)
    partitions = valid.select("nameOrig", "step", "amount").rdd.glom().collect()
    for rows in partitions:
        keys = [(r["nameOrig"], r["step"], r["amount"]) for r in rows]
        assert keys == sorted(keys)
    customers = [{r["nameOrig"] for r in rows} for rows in partitions]
    assert sum(len(c) for c in customers) == len(set().union(*customers)) == 3
    table = build_model_input_table(valid, AggregateParams(balance_tolerance=0.01))
    plan = table._jdf.queryExecution()
    physical = plan.executedPlan().toString()
    # The window reads the cached rows as they are (the exchange and sort below
    # InMemoryRelation are the ones that filled the cache).
    above_cache = physical.split("InMemoryRelation")[0]
    assert "Window" in above_cache and "InMemoryTableScan" in above_cache
    assert "Exchange" not in above_cache and "Sort [" not in above_cache


def test_the_pass_over_every_line_runs_compiled_code(spark, tmp_path):
    """HotSpot never compiles a method over 8,000 bytes of bytecode (its HugeMethodLimit):
    such a method runs in the bytecode interpreter, on every line, several times slower.
    Every method Spark generates for the pass that reads, checks and caches the rows stays
    under that size (a check of the generated code, not of time)."""
    previous = spark.conf.get("spark.sql.adaptive.enabled")
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # the whole plan as one tree
    try:
        valid, _, _ = validate_transactions(load(spark, write_csv(tmp_path, VALID_LINES)), SPLIT)
        leaves = valid._jdf.queryExecution().executedPlan().collectLeaves()
    finally:
        spark.conf.set("spark.sql.adaptive.enabled", previous)
    cached = [leaves.apply(i).relation().cachedPlan() for i in range(leaves.size())
              if leaves.apply(i).nodeName() == "InMemoryTableScan"]
    assert len(cached) == 1
    debug = spark._jvm.org.apache.spark.sql.execution.debug.package
    stages = debug.codegenStringSeq(cached[0])
    sizes = [stages.apply(i)._3().maxMethodCodeSize() for i in range(stages.size())]
    assert len(sizes) == 2 and max(sizes) < 8000, sizes  # read and check; sort and cache
