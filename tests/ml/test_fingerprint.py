"""The test rows' fingerprint: blind to row order and partitioning, changed by any change of
content, and the same whether hashed in the scoring pass or on its own (real Spark)."""

from __future__ import annotations

from pyspark.sql import functions as F

from fraud_detection.ml.scoring import fraud_probabilities, rows_fingerprint
from tests.registry import fit_small_model

ROWS = [(1, "TRANSFER", 10.0, None), (2, "CASH_OUT", None, 3.5), (3, "TRANSFER", 7.25, 0.0)]
SCHEMA = "step int, type string, amount double, errorBalanceOrig double"


def test_same_rows_in_any_order_or_partitioning_give_the_same_fingerprint(spark):
    rows = spark.createDataFrame(ROWS, SCHEMA)
    shuffled = spark.createDataFrame(list(reversed(ROWS)), SCHEMA).repartition(3)
    reordered_columns = rows.select("amount", "errorBalanceOrig", "type", "step")
    fingerprint = rows_fingerprint(rows)
    assert len(fingerprint) == 64
    assert rows_fingerprint(shuffled) == fingerprint
    assert rows_fingerprint(reordered_columns) == fingerprint


def test_any_change_of_content_changes_the_fingerprint(spark):
    rows = spark.createDataFrame(ROWS, SCHEMA)
    changed = {
        "a value": rows.withColumn("amount", F.when(F.col("step") == 3, 7.5)
                                   .otherwise(F.col("amount"))),
        "a row fewer": rows.where(F.col("step") < 3),
        "a row twice": rows.union(rows.where(F.col("step") == 1)),
        "a column renamed": rows.withColumnRenamed("amount", "amount2"),
        "a column's type": rows.withColumn("step", F.col("step").cast("long")),
        # The null and the 10.0 of the first row change places between two columns.
        "a null moved": spark.createDataFrame(
            [(1, "TRANSFER", None, 10.0), *ROWS[1:]], SCHEMA),
    }
    fingerprint = rows_fingerprint(rows)
    for change, frame in changed.items():
        assert rows_fingerprint(frame) != fingerprint, change


def test_the_scoring_pass_gives_the_fingerprint_of_a_pass_of_its_own(spark):
    model, table = fit_small_model(spark)
    rows = table.sample(fraction=0.5, seed=3)
    scores = fraud_probabilities(model, rows, fingerprinted=True)
    assert len(scores) > 1  # several groups, their hash sums added up
    assert rows_fingerprint(rows, scores) == rows_fingerprint(rows)
    assert "row_hashes" not in fraud_probabilities(model, rows)
