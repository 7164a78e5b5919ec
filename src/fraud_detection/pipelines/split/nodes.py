"""Validation and customer sharding of raw PaySim transactions.

The raw file is read with every column as text, so nothing is coerced or lost on load:
each row is parsed here, and a row that does not parse is kept, with its reason, in the
quarantine instead of disappearing. Whole-file problems (missing columns, a column of the
wrong type, a label that is not 0/1) stop the run with an error that names the file.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraud_detection.parameters import SplitParams
from fraud_detection.pipelines.split.csv_lines import LINE, line_number
from fraud_detection.pipelines.split.rows import (
    ARTICLE,
    NUMERIC,
    SCORING,
    SHOWN,
    TRAINING,
    Batch,
    check_transactions,
    field_count,
    malformed,
    with_problems,
)
from fraud_detection.schema import (
    CUSTOMER,
    CUSTOMER_ORDER,
    EXPECTED_HEADER,
    LABEL,
    RAW_COLUMNS,
)
from fraud_detection.spark_cache import cache
from fraud_detection.text import shown

logger = logging.getLogger(__name__)
# What the cache keeps of a row that is malformed or has a bad label, beside its original text.
ORIGINAL_FACTS = ("source_file", "block", "row", "text", "shaped", "fields", "quotes_ok",
                  "bad_utf8")

class RawDataError(ValueError):
    """The raw transactions cannot be used; the message says where and how to fix it."""


def source_of(df: DataFrame) -> str:
    """The files behind a DataFrame, for error messages."""
    files = sorted(path.removeprefix("file://") for path in df.inputFiles())
    return ", ".join(files) if files else "(no file)"


def check_columns(columns: list[str], source: str, batch: Batch = TRAINING) -> None:
    """Fail on a missing, misnamed or unexpected column, naming it and the expected header.

    A scoring batch may leave out ``isFraud`` (unlabeled data is the normal case there).
    """
    columns = [name for name in columns if name != LINE]
    optional = () if batch.label_required else (LABEL,)
    missing = [name for name in RAW_COLUMNS if name not in columns and name not in optional]
    extra = [name for name in columns if name not in RAW_COLUMNS]
    found = shown(", ".join(columns) or "no columns", 400)
    if missing:
        name = missing[0]
        close = difflib.get_close_matches(name, extra, n=1, cutoff=0.6)
        hint = f"rename column '{shown(close[0])}' to '{name}'" if close else (
            "is it a CSV file with the PaySim header line?"
        )
        raise RawDataError(
            f"{batch.dataset}: column '{name}' missing (found: {found}) "
            f"in {source}; expected the header {EXPECTED_HEADER}; {hint}"
        )
    if extra:
        raise RawDataError(
            f"{batch.dataset}: unexpected column '{shown(extra[0])}' in {source}; expected "
            f"exactly the header {EXPECTED_HEADER}; remove the extra columns"
        )


def _summary_columns() -> list[Column]:
    """Every count the checks need, from the laid-out rows (see :func:`_parse_once`).

    A value was present in the file when it parsed, or else when the row kept its original
    text (every row with a problem or a bad label does); rows of the wrong shape do not count.
    """
    shaped = F.col("original").isNull() | F.col("original.shaped")
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(malformed().cast("long")).alias("quarantined"),
        F.sum(F.col("bad_label").cast("long")).alias("bad_labels"),
        *(
            F.count(F.when(
                shaped & (F.col(name).isNotNull() | F.col(f"original.{name}").isNotNull()), 1
            )).alias(f"present:{name}")
            for name in NUMERIC
        ),
        *(F.count(F.when(shaped, F.col(name))).alias(f"parsed:{name}") for name in NUMERIC),
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


def _parse_once(checked: DataFrame, n_shards: int) -> tuple[DataFrame, dict[str, int]]:
    """The checked rows, laid out by customer and cached, and the summary counts, from one read.

    Parsing the CSV is the most expensive step of the split: the counts, the quarantine, the
    shards and the history features would each parse it again. Instead one pass fills the
    cache and counts what it holds, and the others read the cache. It holds what they need:
    the typed values, whether a row is malformed, and the original text, line facts, file
    and place of the rows that are malformed or have a bad label (the quarantine builds their
    reasons from these). Cached blocks are kept deserialized (``persist()``'s default):
    every reader then skips a deserialization pass, and filling them skips a serialization
    pass. The run releases the cache once every node reading it in memory has saved its
    outputs (locally: the aggregate stage, see ``hooks.spark_cache``).
    """
    original = F.struct(
        *(F.col(f"raw_{name}").alias(name) for name in RAW_COLUMNS),
        *(F.col(name) for name in ORIGINAL_FACTS),
    )
    typed = checked.select(
        *RAW_COLUMNS,
        "malformed",
        "bad_label",
        F.when(malformed() | F.col("bad_label"), original).alias("original"),
    )
    cached = cache(lay_out_by_customer(typed, n_shards))
    summary = cached.agg(*_summary_columns()).first().asDict()  # the one pass
    return cached, {key: int(value or 0) for key, value in summary.items()}


def _check_types(summary: dict[str, int], checked: DataFrame, source: str, batch: Batch
                 ) -> None:
    """A column where no value parses has the wrong type: a file problem, not a row problem."""
    for name in NUMERIC:
        if summary[f"present:{name}"] and not summary[f"parsed:{name}"]:
            example = checked.where("shaped").select(f"raw_{name}").dropna().first()[0]
            raise RawDataError(
                f"{batch.dataset}: column '{name}' has the wrong type in {source}: expected "
                f"{ARTICLE[RAW_COLUMNS[name]]}, found values like '{shown(example)}'"
            )


def _file_and_line(raw: DataFrame) -> Column:
    """``<file> line <n>`` of each of ``rows`` (``<file>`` alone without line facts)."""
    file = F.regexp_replace(F.col("source_file"), "^file:(//)?", "")
    if LINE not in raw.columns:
        return file
    number = line_number(raw, F.col("source_file"), F.col("block"), F.col("row"))
    return F.concat(file, F.lit(" line "), number.cast("string"))


def _check_labels(summary: dict[str, int], raw: DataFrame, checked: DataFrame, source: str,
                  batch: Batch) -> None:
    if summary["bad_labels"]:
        bad = checked.where("bad_label")
        found = bad.select(
            F.coalesce(f"raw_{LABEL}", F.lit("empty")).alias("value"),
            _file_and_line(raw).alias("where"),
        ).limit(5).collect()
        values = ", ".join(dict.fromkeys(shown(row["value"], SHOWN) for row in found))
        raise RawDataError(
            f"{batch.dataset}: column '{LABEL}' must be 0 or 1 in {source}; found "
            f"{summary['bad_labels']} rows with other values ({values}; first at "
            f"{found[0]['where']}); fix or remove those rows"
        )


def _validate(
    raw: DataFrame, params: SplitParams, batch: Batch
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    source = source_of(raw)
    check_columns(raw.columns, source, batch)
    checked = check_transactions(raw, batch, params.max_abs_amount)
    cached, summary = _parse_once(checked, params.n_shards)
    if not summary["rows"]:
        raise RawDataError(
            f"{batch.dataset}: no rows in {source}; expected PaySim transactions"
        )
    _check_types(summary, checked, source, batch)
    _check_labels(summary, raw, checked, source, batch)

    valid = cached.where(~malformed()).select(*RAW_COLUMNS)
    reasons = _Reasons(field_count(raw), batch, params.max_abs_amount)
    quarantine = _quarantine(raw, cached, reasons, known_empty=not summary["quarantined"])
    report = {
        "dataset": batch.dataset,
        "quarantine": batch.quarantine,
        "source": source,
        "rows": summary["rows"],
        "quarantined": summary["quarantined"],
        "quarantined_fraction": summary["quarantined"] / summary["rows"],
        "top_problems": _top_problems(quarantine) if summary["quarantined"] else {},
    }
    if report["quarantined"]:
        logger.warning(
            "%s: %d of %d rows quarantined (see the dataset '%s'): %s",
            batch.dataset, report["quarantined"], report["rows"], batch.quarantine,
            report["top_problems"],
        )
    return valid, quarantine, report


@dataclass(frozen=True)
class _Reasons:
    """What the reasons of a quarantined row depend on besides the row."""

    n_fields: int
    batch: Batch
    max_abs: float


def _quarantine(raw: DataFrame, cached: DataFrame, reasons: _Reasons, known_empty: bool
                ) -> DataFrame:
    """The malformed rows: original text, ``problems``, ``source_file``, ``line``, ``raw_line``.

    The reasons are built here, from the typed values and the original text and line facts
    the cache keeps of these rows only. ``raw_line`` is the whole line (bytes that are not
    UTF-8 shown as U+FFFD), so a row with extra fields keeps them too.
    """
    rows = cached.where(malformed()).select(
        *RAW_COLUMNS,
        *(F.col(f"original.{name}").alias(f"raw_{name}") for name in RAW_COLUMNS),
        *(F.col(f"original.{name}").alias(name) for name in ORIGINAL_FACTS),
    )
    described = with_problems(rows, reasons.n_fields, reasons.batch, reasons.max_abs)
    if known_empty or LINE not in raw.columns:  # no need to count lines
        line = F.lit(None).cast("long")
    else:
        line = line_number(raw, F.col("source_file"), F.col("block"), F.col("row"))
    quarantine = described.select(
        *(F.col(f"raw_{name}").alias(name) for name in RAW_COLUMNS),
        "problems",
        F.regexp_replace("source_file", "^file:(//)?", "").alias("source_file"),
        line.alias("line"),
        F.make_valid_utf8("text").alias("raw_line"),
    )
    return quarantine.limit(0) if known_empty else quarantine


def validate_transactions(
    raw: DataFrame, params: SplitParams
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """Check the training file, parse every row, and set malformed rows aside with their reasons.

    Returns the valid rows (typed, laid out by customer in ``split.n_shards`` partitions),
    the quarantined rows (original text, ``problems``, ``source_file``, ``line``,
    ``raw_line``) and a report with the counts and the most frequent problems. Every row
    needs a label (``isFraud`` 0 or 1).
    """
    return _validate(raw, params, TRAINING)


def validate_scoring_transactions(
    raw: DataFrame, params: SplitParams
) -> tuple[DataFrame, DataFrame, dict[str, Any]]:
    """:func:`validate_transactions` for a scoring batch, where ``isFraud`` is optional.

    The column may be missing or a row's value empty (null in the output); a value given
    must be 0 or 1, else the row is quarantined.
    """
    return _validate(raw, params, SCORING)


def _top_problems(quarantine: DataFrame, limit: int = 10) -> dict[str, int]:
    """The most frequent reasons, escaped and cut short for logs, tags and reports."""
    rows = quarantine.groupBy("problems").count().orderBy(F.desc("count"), "problems").limit(limit)
    return {shown(row["problems"], 200): int(row["count"]) for row in rows.collect()}


def enforce_quarantine_threshold(
    transactions: DataFrame, report: dict[str, Any], params: SplitParams
) -> DataFrame:
    """Pass the valid rows on only while malformed rows stay under the allowed fraction.

    Runs after the quarantine is saved, so a failed run still leaves the evidence.
    """
    limit = params.max_quarantine_fraction
    if report["quarantined_fraction"] > limit:
        raise RawDataError(
            f"{report.get('dataset', TRAINING.dataset)}: {report['quarantined']} of "
            f"{report['rows']} rows in {report['source']} "
            f"are malformed ({report['quarantined_fraction']:.2%}), above "
            f"split.max_quarantine_fraction={limit}; most frequent problems: "
            f"{report['top_problems']}. See the dataset "
            f"'{report.get('quarantine', TRAINING.quarantine)}', fix the "
            "file, or raise the threshold"
        )
    return transactions


def shard_by_customer(transactions: DataFrame, params: SplitParams) -> DataFrame:
    """Add ``shard`` = Spark's hash of the customer mod ``split.n_shards``.

    The validated rows are already laid out one shard per partition
    (:func:`lay_out_by_customer`), so each task writes exactly one shard directory.
    """
    return transactions.withColumn("shard", shard_of_customer(params.n_shards))
