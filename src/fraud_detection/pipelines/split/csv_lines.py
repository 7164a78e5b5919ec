"""CSV text lines -> fields, keeping the evidence Spark's CSV reader throws away.

Spark's CSV reader decodes every line, replacing bytes that are not UTF-8 by U+FFFD, drops a
row's extra fields and fills missing ones with nulls, and cannot say on which line a row was.
Here each file is read as text lines instead (Spark's text source keeps a line's bytes as they
are) and split into fields with Spark SQL functions, still one pass in the JVM, and every row
carries what validation needs to refuse it precisely (:data:`LINE`):

- ``file``, ``block`` and ``row``: the file, the start of the file split that held the line
  and a row id that increases line by line inside a split: :func:`line_numbers` turns them
  into the line number with one count per split, computed only when a row needs it;
- ``fields``: how many fields the line has (the header has ``len(header)``);
- ``bad_utf8``: null for a valid UTF-8 line, else the fields whose bytes are not valid UTF-8
  (their values are shown with
  U+FFFD in place of the bad bytes, so the quarantine stays readable; the row is refused);
  U+FFFD written in the file as valid UTF-8 (bytes EF BF BD) is ordinary text and kept;
- ``quotes_ok``: false when the quotes of a line do not pair up (a quoted value spanning
  lines, which PaySim files never have, ends up here: each part is refused with its line);
- ``header`` (the line holds the header's names: a file's first line, or the header again,
  as in files concatenated with ``cat``) and ``text`` (the line's bytes as they are; the
  quarantine shows it made valid UTF-8).

A line without a double quote is split at every comma (Java's fast path for a one-character
separator); only lines with a quote go through a regular expression (RFC 4180 quoting:
``"a,b"`` is one field, ``""`` inside quotes is one quote).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

LINE = "_line"
BOM = "\ufeff"

# One field and the comma after it (a comma is appended to every line): quoted or plain.
_FIELD = r'("(?:[^"]|"")*"|[^,"]*),'


def read_lines(spark_reader_text: DataFrame) -> DataFrame:
    """The lines of ``spark.read.text(...)`` with their file, split start and row id.

    The row id must be taken right at the scan, before any filter, so that it counts every
    line of a split (see :func:`line_numbers`).
    """
    return spark_reader_text.select(
        "value",
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("row"),
    )


def _latin1_bytes(text: Column) -> Column:
    """The original bytes of a line decoded as Latin-1 (one character per byte)."""
    return F.encode(text, "ISO-8859-1").cast("string")


def _split(text: Column) -> tuple[Column, Column]:
    """The fields of a line (quotes removed) and whether its quotes pair up."""
    quoted = text.contains('"')
    with_comma = F.concat(text, F.lit(","))
    matched = F.array_join(F.regexp_extract_all(with_comma, F.lit(_FIELD), F.lit(0)), "")
    unquoted = F.transform(
        F.regexp_extract_all(with_comma, F.lit(_FIELD), F.lit(1)),
        lambda field: F.when(
            field.startswith('"'),
            F.replace(field.substr(F.lit(2), F.length(field) - 2), F.lit('""'), F.lit('"')),
        ).otherwise(field),
    )
    fields = F.when(quoted, unquoted).otherwise(F.split(text, ",", -1))
    return fields, ~quoted | (matched == with_comma)


def _is_header(header: list[str]) -> Column:
    """True for a line whose fields are the header's names (quoted or not, after a BOM)."""
    names = F.array(*(F.lit(name) for name in header))
    with_bom = F.array(*(F.lit(BOM + name if i == 0 else name) for i, name in enumerate(header)))
    # A cheap test of the line's start first: validation filters on this, and Spark puts the
    # filter under the split, so a full comparison would split every line twice.
    value = F.col("value")
    maybe = F.lit(False) if not header else (
        value.startswith(header[0]) | value.startswith('"') | value.startswith(BOM))
    return F.when(
        maybe,
        (F.col("_fields") == names) | (F.col("_fields") == with_bom),
    ).otherwise(False)


def to_fields(lines: DataFrame, header: list[str]) -> DataFrame:
    """One text column per header name (null when empty) and the line's facts in :data:`LINE`.

    Every line is a row, header and blank lines too (``header``, and ``text`` empty), so that
    :func:`line_number` can count them; validation skips them.

    A line that is not valid UTF-8 is split as Latin-1 text, so no byte is lost on the way:
    each of its fields is then checked and shown on its own.
    """
    value = F.col("value")
    valid = F.is_valid_utf8(value)
    text = F.when(valid, value).otherwise(F.decode(value.cast("binary"), "ISO-8859-1"))
    fields, quotes_ok = _split(text)
    staged = lines.select(
        "*", valid.alias("_valid"), fields.alias("_fields"), quotes_ok.alias("_quotes_ok")
    )

    def field(index: int) -> Column:
        raw = F.get(F.col("_fields"), index)
        shown = F.when(F.col("_valid"), raw).otherwise(F.make_valid_utf8(_latin1_bytes(raw)))
        return F.nullif(shown, F.lit(""))

    bad_utf8 = F.when(~F.col("_valid"), F.array_compact(F.array(*(
            F.when(~F.is_valid_utf8(_latin1_bytes(F.get(F.col("_fields"), i))), F.lit(name))
            for i, name in enumerate(header)
    ))))
    facts = F.struct(
        F.col("file"),
        F.col("block"),
        F.col("row"),
        F.size("_fields").alias("fields"),
        bad_utf8.alias("bad_utf8"),
        F.col("_quotes_ok").alias("quotes_ok"),
        _is_header(header).alias("header"),
        value.alias("text"),
    )
    columns = [field(i).alias(name) for i, name in enumerate(header)]
    return staged.select(*columns, facts.alias(LINE))


def line_number(lines: DataFrame, file: Column, block: Column, row: Column) -> Column:
    """Each row's 1-based line in its file (``file``, ``block``, ``row`` from :data:`LINE`).

    ``lines`` are all the lines read (header and blank ones included). A split's rows have
    consecutive ids (:func:`read_lines`), so a row's line is the lines of the file's earlier
    splits plus its distance from the split's first id. The counts are one small Spark job
    over the text, not the parse: call this only when some row needs its line.
    """
    counts = (
        lines.groupBy(F.col(f"{LINE}.file").alias("file"), F.col(f"{LINE}.block").alias("block"))
        .agg(F.min(f"{LINE}.row").alias("first"), F.count(F.lit(1)).alias("lines"))
        .orderBy("file", "block")
        .collect()
    )
    offsets: list[Column] = []
    before: dict[str, int] = {}
    for split in counts:
        earlier = before.get(split["file"], 0)
        offsets += [F.lit(f"{split['file']}#{split['block']}"), F.lit(earlier + 1 - split["first"])]
        before[split["file"]] = earlier + split["lines"]
    if not offsets:
        return F.lit(None).cast("long")
    key = F.concat_ws("#", file, block.cast("string"))
    return F.element_at(F.create_map(*offsets), key) + row
