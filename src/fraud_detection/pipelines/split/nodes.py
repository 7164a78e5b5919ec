"""Validation and customer sharding of raw PaySim transactions.

The raw file is read with every column as text, so nothing is coerced or lost on load:
each row is parsed here, and a row that does not parse is kept, with its reason, in the
quarantine instead of disappearing. Whole-file problems (missing columns, a column of the
wrong type, a label that is not 0/1) stop the run with an error that names the file.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraud_detection.hooks.spark_cache import cache
from fraud_detection.parameters import SplitParams
from fraud_detection.schema import (
    CUSTOMER,
    CUSTOMER_ORDER,
    EXPECTED_HEADER,
    LABEL,
    RAW_COLUMNS,
    TRANSACTION_TYPES,
)

logger = logging.getLogger(__name__)

DATASET = "raw transactions"

NUMERIC = [name for name, kind in RAW_COLUMNS.items() if kind != "string"]
NON_NEGATIVE = ["amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"]


class RawDataError(ValueError):
    """The raw transactions cannot be used; the message says where and how to fix it."""


def source_of(df: DataFrame) -> str:
    """The files behind a DataFrame, for error messages."""
    files = sorted(path.removeprefix("file://") for path in df.inputFiles())
    return ", ".join(files) if files else "(no file)"


def check_columns(columns: list[str], source: str) -> None:
    """Fail on a missing, misnamed or unexpected column, naming it and the expected header."""
    missing = [name for name in RAW_COLUMNS if name not in columns]
    extra = [name for name in columns if name not in RAW_COLUMNS]
    if missing:
        name = missing[0]
        close = difflib.get_close_matches(name, extra, n=1, cutoff=0.6)
        hint = f"rename column '{close[0]}' to '{name}'" if close else (
            "is it a CSV file with the PaySim header line?"
        )
        raise RawDataError(
            f"{DATASET}: column '{name}' missing (found: {', '.join(columns) or 'no columns'}) "
            f"in {source}; expected the header {EXPECTED_HEADER}; {hint}"
        )
    if extra:
        raise RawDataError(
            f"{DATASET}: unexpected column '{extra[0]}' in {source}; expected exactly the "
            f"header {EXPECTED_HEADER}; remove the extra columns"
        )


def _parsed(column: str) -> Column:
    kind = RAW_COLUMNS[column]
    if kind == "string":
        return F.trim(F.col(column))
    return F.col(column).try_cast(kind)


def _not_parsed(name: str) -> Column:
    shown = F.coalesce(F.col(f"raw_{name}"), F.lit(""))
    return F.when(
        F.col(name).isNull(),
        F.concat(F.lit(f"{name}: not {_ARTICLE[RAW_COLUMNS[name]]} ('"), shown, F.lit("')")),
    )


_ARTICLE = {"int": "an integer", "double": "a number"}


def _row_problems() -> Column:
    """One text per row listing every problem with it; empty when the row is valid."""
    checks = [
        *(_not_parsed(name) for name in NUMERIC if name != LABEL),
        F.when(F.col("step") < 1, F.lit("step: below 1")),
        *(
            F.when(F.coalesce(F.col(name), F.lit("")) == "", F.lit(f"{name}: empty"))
            for name in ("type", CUSTOMER, "nameDest")
        ),
        F.when(
            (F.col("type") != "") & ~F.col("type").isin(*TRANSACTION_TYPES),
            F.concat(F.lit("type: unknown value '"), F.col("type"), F.lit("'")),
        ),
        *(F.when(F.col(name) < 0, F.lit(f"{name}: negative")) for name in NON_NEGATIVE),
        F.when(~F.col("isFlaggedFraud").isin(0, 1), F.lit("isFlaggedFraud: not 0 or 1")),
    ]
    return F.concat_ws("; ", *checks)


def parse_transactions(raw: DataFrame) -> DataFrame:
    """Typed columns, the original text of each (``raw_<name>``), the problems and the file."""
    return raw.select(
        *(_parsed(name).alias(name) for name in RAW_COLUMNS),
        *(F.col(name).alias(f"raw_{name}") for name in RAW_COLUMNS),
        F.input_file_name().alias("source_file"),
    ).withColumn("problems", _row_problems())


def _malformed() -> Column:
    """True for a row with at least one problem (see :func:`_row_problems`)."""
    return F.col("problems") != ""


def _bad_label() -> Column:
    """True for a row whose label is not 0 or 1 (a file problem, see :func:`_check_labels`)."""
    return ~F.col(LABEL).isin(0, 1) | F.col(LABEL).isNull()


def _summary_columns() -> list[Column]:
    """Every count the checks need, from the laid-out rows (see :func:`_parse_once`).

    A value was present in the file when it parsed, or else when the row kept its original
    text (every row with a problem or a bad label does).
    """
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(_malformed().cast("long")).alias("quarantined"),
        F.sum(_bad_label().cast("long")).alias("bad_labels"),
        *(
            F.count(F.when(F.col(name).isNotNull() | F.col(f"original.{name}").isNotNull(), 1))
            .alias(f"present:{name}")
            for name in NUMERIC
        ),
        *(F.count(name).alias(f"parsed:{name}") for name in NUMERIC),
    ]


def shard_of_customer(n_shards: int) -> Column:
    """Spark's hash of the customer (Murmur3, seed 42) mod ``n_shards``.

    The same expression Spark uses to place a row when it hash-partitions by the customer
    into ``n_shards`` partitions, so partition ``i`` of :func:`lay_out_by_customer` holds
    exactly shard ``i``; and stable across runs, machines and Spark versions, so a customer
    always lands in the same shard and only changed shards need reprocessing.
    """
    return F.pmod(F.hash(F.col(CUSTOMER)), F.lit(n_shards)).cast("int")


def lay_out_by_customer(rows: DataFrame, n_shards: int) -> DataFrame:
    """One partition per shard, each sorted in ``CUSTOMER_ORDER``.

    The one shuffle of the data: the shard files are written from these partitions as they
    are, and the customer-history window (aggregate) finds its input already partitioned
    and sorted the way it needs, so Spark neither shuffles nor sorts again.
    """
    return rows.repartition(n_shards, CUSTOMER).sortWithinPartitions(*CUSTOMER_ORDER)


def _parse_once(parsed: DataFrame, n_shards: int) -> tuple[DataFrame, dict[str, int]]:
    """The parsed rows, laid out by customer and cached, and the summary counts, from one read.

    Parsing the CSV is the most expensive step of the split: the counts, the quarantine, the
    shards and the history features would each parse it again. Instead one pass fills the
    cache and counts what it holds, and the others read the cache. It holds what they need:
    the typed values, the problems, and the original text and file of the rows with a problem
    or a bad label. Cached blocks are kept deserialized (``persist()``'s default): every
    reader then skips a deserialization pass, and filling them skips a serialization pass.
    The run releases the cache once every node reading it in memory has saved its outputs
    (locally: the aggregate stage, see ``hooks.spark_cache``).
    """
    original = F.struct(*(F.col(f"raw_{name}").alias(name) for name in RAW_COLUMNS),
                        F.col("source_file"))
    typed = parsed.select(
        *RAW_COLUMNS,
        "problems",
        F.when(_malformed() | _bad_label(), original).alias("original"),
    )
    cached = cache(lay_out_by_customer(typed, n_shards))
    summary = cached.agg(*_summary_columns()).first().asDict()  # the one pass
    return cached, {key: int(value or 0) for key, value in summary.items()}


def _check_types(summary: dict[str, int], parsed: DataFrame, source: str) -> None:
    """A column where no value parses has the wrong type: a file problem, not a row problem."""
    for name in NUMERIC:
        if summary[f"present:{name}"] and not summary[f"parsed:{name}"]:
            example = parsed.select(f"raw_{name}").dropna().first()[0]
            raise RawDataError(
                f"{DATASET}: column '{name}' has the wrong type in {source}: expected "
                f"{_ARTICLE[RAW_COLUMNS[name]]}, found values like '{example}'"
            )


def _check_labels(summary: dict[str, int], parsed: DataFrame, source: str) -> None:
    if summary["bad_labels"]:
        found = [
            row[0]
            for row in parsed.where(_bad_label())
            .select(F.coalesce(f"raw_{LABEL}", F.lit("empty")))
            .distinct()
            .limit(5)
            .collect()
        ]
        raise RawDataError(
            f"{DATASET}: column '{LABEL}' must be 0 or 1 in {source}; found "
            f"{summary['bad_labels']} rows with other values ({', '.join(found)}); "
            "fix or remove those rows"
        )


def validate_transactions(
    raw: DataFrame, params: SplitParams
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """Check the file, parse every row, and set malformed rows aside with their reasons.

    Returns the valid rows (typed, laid out by customer in ``split.n_shards`` partitions),
    the quarantined rows (original text, ``problems``, ``source_file``) and a report with
    the counts and the most frequent problems.
    """
    n_shards = params.n_shards
    source = source_of(raw)
    check_columns(raw.columns, source)
    parsed = parse_transactions(raw)
    cached, summary = _parse_once(parsed, n_shards)
    if not summary["rows"]:
        raise RawDataError(f"{DATASET}: no rows in {source}; expected PaySim transactions")
    _check_types(summary, parsed, source)
    _check_labels(summary, parsed, source)

    valid = cached.where(~_malformed()).select(*RAW_COLUMNS)
    quarantine = cached.where(_malformed()).select(
        *(F.col(f"original.{name}").alias(name) for name in RAW_COLUMNS),
        "problems",
        F.col("original.source_file").alias("source_file"),
    )
    if not summary["quarantined"]:  # known empty: no need to scan the rows for bad ones
        quarantine = quarantine.limit(0)
    report = {
        "source": source,
        "rows": summary["rows"],
        "quarantined": summary["quarantined"],
        "quarantined_fraction": summary["quarantined"] / summary["rows"],
        "top_problems": _top_problems(quarantine) if summary["quarantined"] else {},
    }
    if report["quarantined"]:
        logger.warning(
            "%s: %d of %d rows quarantined: %s",
            DATASET, report["quarantined"], report["rows"], report["top_problems"],
        )
    return valid, quarantine, report


def _top_problems(quarantine: DataFrame, limit: int = 10) -> dict[str, int]:
    rows = quarantine.groupBy("problems").count().orderBy(F.desc("count"), "problems").limit(limit)
    return {row["problems"]: int(row["count"]) for row in rows.collect()}


def enforce_quarantine_threshold(
    transactions: DataFrame, report: dict[str, Any], params: SplitParams
) -> DataFrame:
    """Pass the valid rows on only while malformed rows stay under the allowed fraction.

    Runs after the quarantine is saved, so a failed run still leaves the evidence.
    """
    limit = params.max_quarantine_fraction
    if report["quarantined_fraction"] > limit:
        raise RawDataError(
            f"{DATASET}: {report['quarantined']} of {report['rows']} rows in {report['source']} "
            f"are malformed ({report['quarantined_fraction']:.2%}), above "
            f"split.max_quarantine_fraction={limit}; most frequent problems: "
            f"{report['top_problems']}. See the dataset 'quarantined_transactions', fix the "
            "file, or raise the threshold"
        )
    return transactions


def shard_by_customer(transactions: DataFrame, params: SplitParams) -> DataFrame:
    """Add ``shard`` = Spark's hash of the customer mod ``split.n_shards``.

    The validated rows are already laid out one shard per partition
    (:func:`lay_out_by_customer`), so each task writes exactly one shard directory.
    """
    return transactions.withColumn("shard", shard_of_customer(params.n_shards))
