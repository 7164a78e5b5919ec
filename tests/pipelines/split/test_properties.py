"""Property: whatever damage a row suffers, validation accounts for it.

Random mutations of valid PaySim rows (byte flips, invalid UTF-8, fields dropped or added,
non-finite and huge numbers, empty values, quotes) are written many to one file per example,
read with RawCsvDataset and validated on the test run's Spark session. For every input row:
either a valid row whose numbers are finite and within the bound, or a quarantined row with
a reason, its file and its line; input rows = valid + quarantined, always. Mutations that must
make a row malformed (wrong field count, bytes that are not UTF-8, a number that is not finite
or too large) are quarantined at exactly their line.
"""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.parameters import SplitParams
from fraud_detection.pipelines.split.nodes import (
    validate_scoring_transactions,
    validate_transactions,
)
from fraud_detection.schema import EXPECTED_HEADER, LABEL, RAW_COLUMNS
from tests.raw_files import VALID_LINES

SPLIT = SplitParams(n_shards=2, max_quarantine_fraction=1.0)
NAMES = list(RAW_COLUMNS)
DOUBLES = [i for i, name in enumerate(NAMES) if RAW_COLUMNS[name] == "double"]
LABEL_AT = NAMES.index(LABEL)
ROWS_PER_EXAMPLE = 70
COUNTED = {"rows": 0, "examples": 0}
FOLDERS = itertools.count()
# Two intact rows end every file: with none, a column whose every value was damaged is a
# whole-file error ("wrong type"), tested apart in test_nodes.
ANCHORS = [(line.encode(), False) for line in VALID_LINES]

NOT_FINITE = st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "-inf", "1e309",
                              "-1e400", "+INF"])
HUGE = st.sampled_from(["1e308", "-1e14", "1.5e13", "99999999999999999"])
INVALID_UTF8 = st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf",
                                b"\x80abc"])
ODD = st.sampled_from(["", " ", '"', '""', '"x,y"', "0x1F", "1,5", "\ufffd", "\t"])


@st.composite
def mutated_row(draw, training: bool) -> tuple[bytes, bool]:
    """A row's bytes, and whether it must be quarantined whatever else happens."""
    fields = [field.encode() for field in draw(st.sampled_from(VALID_LINES)).split(",")]
    # Training refuses a whole file for a bad label: leave the label's value alone there.
    free = [i for i in range(len(fields)) if not (training and i == LABEL_AT)]
    kind = draw(st.sampled_from(["keep", "flip", "utf8", "drop", "add", "not_finite", "huge",
                                 "odd"]))
    must_fail = kind in {"utf8", "drop", "add", "not_finite", "huge"}
    if kind == "flip":
        line = bytearray(b",".join(fields))
        limit = len(b",".join(fields[:LABEL_AT])) if training else len(line)
        at = draw(st.integers(0, limit - 1))
        line[at] = draw(st.integers(1, 255).filter(lambda b: b not in b"\r\n"))
        return bytes(line), False
    if kind == "utf8":
        at = draw(st.sampled_from(free))
        fields[at] = fields[at] + draw(INVALID_UTF8)
    elif kind == "drop":
        del fields[draw(st.integers(0, len(fields) - 1))]
    elif kind == "add":
        fields.insert(draw(st.integers(0, len(fields))), draw(st.sampled_from([b"", b"1", b"x"])))
    elif kind in {"not_finite", "huge"}:
        fields[draw(st.sampled_from(DOUBLES))] = draw(NOT_FINITE if kind == "not_finite"
                                                      else HUGE).encode()
    elif kind == "odd":
        fields[draw(st.sampled_from(free))] = draw(ODD).encode()
    return b",".join(fields), must_fail


def _finite_and_bounded(row) -> bool:
    return all(math.isfinite(row[NAMES[i]]) and abs(row[NAMES[i]]) <= SPLIT.max_abs_amount
               for i in DOUBLES)


def _check(folder: Path, rows: list[tuple[bytes, bool]], training: bool) -> None:
    folder.mkdir(parents=True)
    body = b"\n".join([EXPECTED_HEADER.encode(), *(line for line, _ in rows)]) + b"\n"
    (folder / "batch.csv").write_bytes(body)
    validate = validate_transactions if training else validate_scoring_transactions
    valid, quarantine, report = validate(RawCsvDataset(filepath=str(folder)).load(), SPLIT)
    good = valid.collect()
    bad = quarantine.collect()
    assert len(good) + len(bad) == len(rows) == report["rows"]
    assert all(_finite_and_bounded(row) for row in good)
    assert all(row["problems"] and row["source_file"].endswith("batch.csv") for row in bad)
    lines = sorted(row["line"] for row in bad)
    assert len(set(lines)) == len(lines) and all(2 <= line <= len(rows) + 1 for line in lines)
    must = {number for number, (_, must_fail) in enumerate(rows, start=2) if must_fail}
    assert must <= set(lines)
    COUNTED["rows"] += len(rows) - len(ANCHORS)
    COUNTED["examples"] += 1


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), training=st.booleans())
def test_every_mutated_row_is_valid_and_finite_or_quarantined_with_a_reason(
    spark, tmp_path, data, training
):
    rows = data.draw(st.lists(mutated_row(training), min_size=ROWS_PER_EXAMPLE // 2,
                                   max_size=ROWS_PER_EXAMPLE))
    # A new folder per example: Spark would otherwise reuse the cached rows of the last one.
    folder = tmp_path / f"example-{next(FOLDERS)}"
    try:
        _check(folder, rows + ANCHORS, training)
    finally:
        spark.catalog.clearCache()  # what the run's SparkCacheHook does after the split
        shutil.rmtree(folder, ignore_errors=True)


def test_report_mutation_cases(capsys):
    """Not a check: prints how many mutated rows the property test ran (for the report)."""
    with capsys.disabled():
        print(f"\nproperty test: {COUNTED['rows']} mutated rows in {COUNTED['examples']} files")
