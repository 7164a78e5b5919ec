"""CSV text lines -> fields, keeping the evidence Spark's CSV reader throws away.

Spark's CSV reader decodes every line, replacing bytes that are not UTF-8 by U+FFFD, drops a
row's extra fields and fills missing ones with nulls, and cannot say on which line a row was.
Here each file is read as text lines instead (Spark's text source keeps a line's bytes as they
are) and split into fields with Spark SQL functions, still one pass in the JVM, and every row
carries what validation needs to refuse it precisely (:data:`LINE`):

- ``file``, ``block`` and ``row``: the file, the start of the file split that held the line
  and a row id that increases line by line inside a split: :func:`line_number` turns them
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

Nearly every line of a real file is valid UTF-8 without a double quote: such a line is split
at every comma (Java's fast path for a one-character separator) and compared with the header
as text. Only the other lines go through a regular expression (RFC 4180 quoting: ``"a,b"`` is
one field, ``""`` inside quotes is one quote) and, when not UTF-8, a field-by-field check.

The rare path is written with array functions (one lambda for every field), and each step
is its own projection: Spark generates the code of one query stage as one Java method, and
HotSpot does not compile a method over 8,000 bytes of bytecode, so a stage whose method
grows past that runs interpreted, several times slower, on every line.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

LINE = "_line"
BOM = "\ufeff"

# One field and the comma after it (a comma is appended to every line): quoted or plain.
_FIELD = r'("(?:[^"]|"")*"|[^,"]*),'


def _latin1_bytes(text: Column) -> Column:
    """The original bytes of a line decoded as Latin-1 (one character per byte)."""
    return F.encode(text, "ISO-8859-1").cast("string")


def _unquoted(match: Column) -> Column:
    """A field matched by ``_FIELD`` without its comma, outer quotes and doubled quotes."""
    return F.when(
        match.startswith('"'),
        F.replace(match.substr(F.lit(2), F.length(match) - 3), F.lit('""'), F.lit('"')),
    ).otherwise(match.substr(F.lit(1), F.length(match) - 1))


def _line_kinds(text_lines: DataFrame) -> DataFrame:
    """Each line with its file and split, and what kind of line it is.

    ``_plain``: valid UTF-8 without a quote, split at commas. Any other line is read as text
    (as Latin-1 when not UTF-8, so that no byte is lost on the way) and its fields with their
    commas are matched in ``_matches``; ``_width`` is that text's length plus the comma.
    """
    value = F.col("value")
    valid = F.is_valid_utf8(value)
    plain = valid & ~value.contains('"')
    text = F.when(valid, value).otherwise(F.decode(value.cast("binary"), "ISO-8859-1"))
    with_comma = F.concat(text, F.lit(","))
    return text_lines.select(
        "value",
        F.col("_metadata.file_path").alias("file"),
        F.col("_metadata.file_block_start").alias("block"),
        valid.alias("_valid"),
        plain.alias("_plain"),
        F.when(~plain, F.regexp_extract_all(with_comma, F.lit(_FIELD), F.lit(0)))
        .alias("_matches"),
        F.when(~plain, F.length(with_comma)).alias("_width"),
    )


def _split(lines: DataFrame) -> DataFrame:
    """The fields of each line (quotes removed), whether its quotes pair up, and its row id.

    The row id is taken here, before any filter, so that it counts every line of a split
    (see :func:`line_number`). Being nondeterministic, it also keeps a filter on the line
    (validation skips header and blank lines) above this projection: Spark would otherwise
    push the filter beneath it and split every line a second time inside the filter.

    The matches of a line's fields tile it exactly when their lengths add up to its own:
    otherwise some quote was left over between them.
    """
    plain = F.col("_plain")
    matches = F.col("_matches")
    return lines.select(
        "value",
        "file",
        "block",
        F.monotonically_increasing_id().alias("row"),
        "_valid",
        "_plain",
        F.when(plain, F.split("value", ",", -1)).otherwise(F.transform(matches, _unquoted))
        .alias("_fields"),
        (plain | (F.length(F.array_join(matches, "")) == F.col("_width"))).alias("_quotes_ok"),
    )


def _is_header(header: list[str]) -> Column:
    """True for a line whose fields are the header's names (quoted or not, after a BOM).

    A plain line (no quote, see :func:`_line_kinds`) is compared as text, which is the same
    when no name holds a comma; other lines field by field.
    """
    names = F.array(*(F.lit(name) for name in header))
    with_bom = F.array(*(F.lit(BOM + name if i == 0 else name) for i, name in enumerate(header)))
    by_fields = (F.col("_fields") == names) | (F.col("_fields") == with_bom)
    if not header or any("," in name for name in header):
        return by_fields
    joined = ",".join(header)
    return F.when(F.col("_plain"), F.col("value").isin(joined, BOM + joined)).otherwise(by_fields)


def to_fields(text_lines: DataFrame, header: list[str]) -> DataFrame:
    """One text column per header name (null when empty) and the line's facts in :data:`LINE`.

    ``text_lines`` is ``spark.read.text(...)`` as read. Every line is a row, header and blank
    lines too (``header``, and ``text`` empty), so that :func:`line_number` can count them;
    validation skips them.

    A line that is not valid UTF-8 is split as Latin-1 text, so no byte is lost on the way:
    each of its fields is then checked and shown on its own.
    """
    split = _split(_line_kinds(text_lines))
    valid = F.col("_valid")
    shown = split.select(
        "*",
        F.when(valid, F.col("_fields"))
        .otherwise(F.transform("_fields", lambda raw: F.make_valid_utf8(_latin1_bytes(raw))))
        .alias("_shown"),
    )
    bad_utf8 = F.when(~valid, F.array_compact(F.transform(
        F.array(*(F.lit(name) for name in header)),
        lambda name, i: F.when(~F.is_valid_utf8(_latin1_bytes(F.get("_fields", i))), name),
    )))
    facts = F.struct(
        F.col("file"),
        F.col("block"),
        F.col("row"),
        F.size("_fields").alias("fields"),
        bad_utf8.alias("bad_utf8"),
        F.col("_quotes_ok").alias("quotes_ok"),
        _is_header(header).alias("header"),
        F.col("value").alias("text"),
    )
    columns = [F.nullif(F.get(F.col("_shown"), i), F.lit("")).alias(name)
               for i, name in enumerate(header)]
    return shown.select(*columns, facts.alias(LINE))


def line_number(lines: DataFrame, file: Column, block: Column, row: Column) -> Column:
    """Each row's 1-based line in its file (``file``, ``block``, ``row`` from :data:`LINE`).

    ``lines`` are all the lines read (header and blank ones included). A split's rows have
    consecutive ids (:func:`_split`), so a row's line is the lines of the file's earlier
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
