"""The ``aggregate`` stage in DuckDB: the same features, on the same input, to the same format.

``build_model_input_table`` (src/fraud_detection/pipelines/aggregate/nodes.py) translated to
SQL: the balance-error and account-emptying features, then the customer-history features
over the customer's *earlier* rows (``ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING``,
ordered like the Spark window), read from the pipeline's transaction shards (parquet) and
written as parquet. A check compares every output column's sum with the Spark table, so the
comparison is between equal results. Run by ``benchmarks.run`` in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

RAW = ("step, type, amount, nameOrig, oldbalanceOrg, newbalanceOrig, nameDest, "
       "oldbalanceDest, newbalanceDest, isFraud, isFlaggedFraud")
ORDER = "PARTITION BY nameOrig ORDER BY step, amount, type, nameDest, oldbalanceOrg"
EARLIER = f"({ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"

FEATURES_SQL = f"""
SELECT
  {RAW},
  newbalanceOrig + amount - oldbalanceOrg AS errorBalanceOrig,
  oldbalanceDest + amount - newbalanceDest AS errorBalanceDest,
  CAST(oldbalanceOrg > {{tol}} AND newbalanceOrig <= {{tol}} AS INTEGER) AS emptiesOrigin,
  CAST(oldbalanceDest <= {{tol}} AND newbalanceDest <= {{tol}} AS INTEGER) AS destBalancesZero,
  amount / greatest(oldbalanceOrg, 1.0) AS amountToOrigBalance,
  step % 24 AS hourOfDay,
  count(*) OVER earlier AS custPriorTxnCount,
  coalesce(avg(amount) OVER earlier, 0.0) AS custPriorAmountMean,
  coalesce(max(amount) OVER earlier, 0.0) AS custPriorAmountMax,
  coalesce(stddev_samp(amount) OVER earlier, 0.0) AS custPriorAmountStd,
  coalesce(avg(CAST(type = 'TRANSFER' AS DOUBLE)) OVER earlier, 0.0) AS custPriorTransferShare,
  coalesce(avg(CAST(type = 'CASH_OUT' AS DOUBLE)) OVER earlier, 0.0) AS custPriorCashOutShare,
  coalesce(step - lag(step) OVER ({ORDER}), -1) AS custStepsSincePrev,
  coalesce(amount / avg(amount) OVER earlier, -1.0) AS amountToCustPriorMean,
  CAST(isFraud AS INTEGER) AS label
FROM {{source}}
WINDOW earlier AS {EARLIER}
"""

CSV_SOURCE = (
    "read_csv('{path}/*.csv', header = true, columns = {{'step': 'INTEGER', 'type': 'VARCHAR',"
    " 'amount': 'DOUBLE', 'nameOrig': 'VARCHAR', 'oldbalanceOrg': 'DOUBLE', "
    "'newbalanceOrig': 'DOUBLE', 'nameDest': 'VARCHAR', 'oldbalanceDest': 'DOUBLE', "
    "'newbalanceDest': 'DOUBLE', 'isFraud': 'INTEGER', 'isFlaggedFraud': 'INTEGER'}})"
)


def _connect(memory_limit: str):
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute(f"SET memory_limit = '{memory_limit}'")
    return connection


def _copy(connection, source: str, target: Path, tolerance: float) -> float:
    started = time.perf_counter()
    query = FEATURES_SQL.format(source=source, tol=repr(tolerance))
    connection.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
    return time.perf_counter() - started


def column_sums(connection, parquet_glob: str, columns: list[str]) -> dict[str, float]:
    sums = ", ".join(f"sum(CAST({c} AS DOUBLE))" for c in columns)
    row = connection.execute(f"SELECT count(*), {sums} FROM read_parquet('{parquet_glob}')")
    values = row.fetchone()
    return {"rows": values[0], **dict(zip(columns, values[1:]))}


def compare(connection, ours: Path, spark_table: Path) -> dict:
    """Column sums of both tables; equal within floating-point rounding."""
    numeric = [c for c in connection.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{ours}')").fetchall()
        if c[1] not in ("VARCHAR",)]
    names = [c[0] for c in numeric]
    mine = column_sums(connection, str(ours), names)
    theirs = column_sums(connection, f"{spark_table}/*.parquet", names)
    worst = max(abs(mine[k] - theirs[k]) / max(abs(theirs[k]), 1.0) for k in mine)
    return {"rows": mine["rows"], "spark_rows": theirs["rows"],
            "max_relative_difference": worst,
            "matches_spark": mine["rows"] == theirs["rows"] and worst < 1e-9}


def run(shards: Path, csv_folder: Path, spark_table: Path | None, work: Path,
        tolerance: float, memory_limit: str) -> dict:
    clock = time.perf_counter
    started = clock()
    connection = _connect(memory_limit)
    work.mkdir(parents=True, exist_ok=True)
    from_shards = work / "model_input_table_duckdb.parquet"
    shard_files = f"read_parquet('{shards}/*/*.parquet', hive_partitioning = true)"
    shard_source = f"(SELECT {RAW} FROM {shard_files})"
    aggregate = _copy(connection, shard_source, from_shards, tolerance)
    from_csv = _copy(connection, CSV_SOURCE.format(path=csv_folder), work / "from_csv.parquet",
                     tolerance)
    result = {
        "threads": os.cpu_count(),
        "memory_limit": memory_limit,
        "aggregate_seconds": round(aggregate, 3),
        "csv_to_features_seconds": round(from_csv, 3),
        "seconds": round(clock() - started, 3),
    }
    if spark_table is not None:
        result["check"] = compare(connection, from_shards, spark_table)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=Path, required=True, help="transaction_shards version")
    parser.add_argument("--csv", type=Path, required=True, help="folder of the raw CSV")
    parser.add_argument("--spark-table", type=Path, help="model_input_table to compare with")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--balance-tolerance", type=float, default=0.01)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    result = run(args.shards, args.csv, args.spark_table, args.work, args.balance_tolerance,
                 args.memory_limit)
    args.result.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
