"""Property: a line's fields do not depend on the path that split it.

A valid UTF-8 line without a quote is split at commas; any other line goes through the
quote-aware regular expression. Random rows are written twice, once quoted only where needed
(most lines take the comma path) and once with every field quoted (the regular expression),
and both must give back the written fields, as Python's csv module writes them. The same rows
then check that validation's ``malformed`` flag, computed without the reasons' text, is set
exactly for the rows whose ``problems`` are not empty.
"""

from __future__ import annotations

import csv
import io
import itertools
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.pipelines.split.rows import SCORING, TRAINING, parse_transactions
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES

NAMES = EXPECTED_HEADER.split(",")
FOLDERS = itertools.count()
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\n"),
    max_size=6,
)
# Values that each fail a different check (shape, number, range, label), and random text.
FIELD = st.one_of(
    st.sampled_from(["-1", "0", "2", "1.5", "NaN", "-inf", "1e309", "1e14", "", " 5 ", "x"]),
    st.sampled_from(['"', '""', ",", '"a,b"', "\ufffd", "TRANSFER", "WIRE", " "]),
    TEXT,
)


@st.composite
def rows(draw) -> list[str]:
    """A valid row with some fields replaced by random text (commas and quotes included)."""
    fields = draw(st.sampled_from(VALID_LINES)).split(",")
    for index in draw(st.lists(st.integers(0, len(fields) - 1), max_size=2)):
        fields[index] = draw(FIELD)
    return fields


def _line(fields: list[str], quoting: int) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=quoting, lineterminator="").writerow(fields)
    return out.getvalue()


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(written=st.lists(rows(), min_size=1, max_size=25), training=st.booleans())
def test_fields_are_the_same_on_the_comma_and_the_quote_aware_path(spark, tmp_path, written,
                                                                   training):
    folder = tmp_path / f"example-{next(FOLDERS)}"
    folder.mkdir()
    quoted_header = _line(NAMES, csv.QUOTE_ALL)
    lines = [EXPECTED_HEADER, *(_line(row, csv.QUOTE_MINIMAL) for row in written),
             quoted_header, *(_line(row, csv.QUOTE_ALL) for row in written)]
    (folder / "rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        raw = RawCsvDataset(filepath=str(folder)).load()
        read = raw.collect()
        assert [row["_line"]["header"] for row in read] == [
            index in (0, len(written) + 1) for index in range(len(lines))]
        expected = [[value or None for value in row] for row in written] * 2
        rows_read = [row for row in read if not row["_line"]["header"]]
        assert [[row[name] for name in NAMES] for row in rows_read] == expected
        assert all(row["_line"]["fields"] == len(NAMES) and row["_line"]["quotes_ok"]
                   and row["_line"]["bad_utf8"] is None for row in rows_read)

        parsed = parse_transactions(raw, TRAINING if training else SCORING).collect()
        assert len(parsed) == 2 * len(written)
        assert all(row["malformed"] == (row["problems"] != "") for row in parsed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
