"""The naive Spark baseline: read the CSV, group by customer, fit a decision tree.

What the demo this project replaces did, without its one-file-per-customer detour: Spark's
defaults (``local[*]``, schema inference, 200 shuffle partitions, nothing cached), one row
per customer with a few aggregates, and a default ``DecisionTreeClassifier`` on them. Only
the driver memory is set, to the pipeline's 4g, so both run with the same heap.
Run by ``benchmarks.run`` in a fresh process, so its time includes the JVM start.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def run(csv_folder: Path) -> dict:
    clock = time.perf_counter
    started = clock()
    from pyspark.ml.classification import DecisionTreeClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (SparkSession.builder.master("local[*]").appName("naive-baseline")
             .config("spark.driver.memory", "4g").config("spark.log.level", "WARN")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark_started = clock()
    transactions = spark.read.csv(str(csv_folder), header=True, inferSchema=True)
    read = clock()
    customers = transactions.groupBy("nameOrig").agg(
        F.count(F.lit(1)).alias("transactions"),
        F.sum("amount").alias("amount_sum"),
        F.avg("amount").alias("amount_mean"),
        F.max("amount").alias("amount_max"),
        F.coalesce(F.stddev("amount"), F.lit(0.0)).alias("amount_std"),
        F.avg((F.col("type") == "TRANSFER").cast("double")).alias("transfer_share"),
        F.avg((F.col("type") == "CASH_OUT").cast("double")).alias("cash_out_share"),
        F.max("isFraud").alias("label"),
    )
    features = [c for c in customers.columns if c not in ("nameOrig", "label")]
    assembled = VectorAssembler(inputCols=features, outputCol="features").transform(customers)
    model = DecisionTreeClassifier(labelCol="label", featuresCol="features").fit(assembled)
    fitted = clock()
    n_customers, depth = customers.count(), model.depth
    spark.stop()
    return {
        "spark_start_seconds": round(spark_started - started, 3),
        "read_csv_seconds": round(read - spark_started, 3),
        "group_and_fit_seconds": round(fitted - read, 3),
        "seconds": round(fitted - started, 3),
        "customers": n_customers,
        "tree_depth": depth,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    args.result.write_text(json.dumps(run(args.csv.resolve()), indent=2))


if __name__ == "__main__":
    main()
