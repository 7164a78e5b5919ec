"""Damaged input as a user meets it: non-finite and huge numbers, bytes that are not UTF-8,
rows cut short or too long, quotes, unlabeled scoring batches. Each case asserts the reason,
the file and the line a user reads in the quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io.core import DatasetError

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.parameters import AggregateParams, SplitParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.pipelines.split.nodes import (
    RawDataError,
    validate_scoring_transactions,
    validate_transactions,
)
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES

SPLIT = SplitParams(n_shards=2, max_quarantine_fraction=0.5)
ROW = "2,CASH_OUT,{amount},C7,{old},0.0,C8,0.0,10.0,0,0"


def write(folder: Path, body: bytes, name: str = "transactions.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(body)
    return folder


def lines_file(folder: Path, lines: list[str | bytes], header: str = EXPECTED_HEADER,
               end: bytes = b"\n") -> Path:
    encoded = [line if isinstance(line, bytes) else line.encode() for line in lines]
    return write(folder, b"\n".join([header.encode(), *encoded]) + end)


def quarantined(folder: Path, validate=validate_transactions, name: str = "raw_transactions"):
    valid, quarantine, report = validate(RawCsvDataset(filepath=str(folder), name=name).load(),
                                         SPLIT)
    return valid, {row["line"]: row for row in quarantine.collect()}, report


@pytest.mark.parametrize(("amount", "old", "reason"), [
    ("NaN", "10.0", "amount: not finite ('NaN')"),
    ("Infinity", "10.0", "amount: not finite ('Infinity')"),
    ("-inf", "10.0", "amount: not finite ('-inf')"),
    ("1e309", "10.0", "amount: not finite ('1e309')"),
    ("10.0", "1e308", "oldbalanceOrg: magnitude above split.max_abs_amount=1e13 ('1e308')"),
    ("10.0", "nan", "oldbalanceOrg: not finite ('nan')"),
])
def test_numbers_that_are_not_finite_or_too_large_are_quarantined(spark, tmp_path, amount, old,
                                                                   reason):
    folder = lines_file(tmp_path, [*VALID_LINES, ROW.format(amount=amount, old=old)])
    valid, bad, report = quarantined(folder)
    assert valid.count() == 2 and report["quarantined"] == 1
    assert bad[4]["problems"] == reason
    assert bad[4]["source_file"] == str(folder / "transactions.csv")


def test_the_bound_is_a_parameter_and_nothing_infinite_reaches_the_features(spark, tmp_path):
    folder = lines_file(tmp_path, [*VALID_LINES, ROW.format(amount="5e12", old="5e12")])
    strict = SPLIT.model_copy(update={"max_abs_amount": 1e12})
    raw = RawCsvDataset(filepath=str(folder)).load()
    _, quarantine, _ = validate_transactions(raw, strict)
    assert quarantine.first()["problems"] == (
        "amount: magnitude above split.max_abs_amount=1e12 ('5e12'); "
        "oldbalanceOrg: magnitude above split.max_abs_amount=1e12 ('5e12')")
    valid, _, _ = validate_transactions(raw, SPLIT)  # within the default 1e13
    table = build_model_input_table(valid, AggregateParams(balance_tolerance=0.01))
    assert table.where("isnan(custPriorAmountStd) or abs(errorBalanceOrig) = 'Infinity'"
                       ).count() == 0


def test_invalid_utf8_is_quarantined_never_rewritten(spark, tmp_path):
    bad = b"3,PAYMENT,5.0,C1\xff\xfe23,5.0,0.0,M\xc3,0.0,0.0,0,0"
    genuine = "4,PAYMENT,5.0,C9\ufffd9,5.0,0.0,M1,0.0,0.0,0,0"  # U+FFFD written as UTF-8
    valid, bad_rows, report = quarantined(lines_file(tmp_path, [*VALID_LINES, bad, genuine]))
    assert bad_rows[4]["problems"] == "nameOrig: not valid UTF-8; nameDest: not valid UTF-8"
    assert bad_rows[4]["nameOrig"] == "C1\ufffd\ufffd23"  # readable; the reason says why
    assert bad_rows[4]["raw_line"].startswith("3,PAYMENT,5.0,C1\ufffd")
    assert {row["nameOrig"] for row in valid.collect()} == {
        "C1231006815", "C1305486145", "C9\ufffd9"}
    assert report["top_problems"] == {"nameOrig: not valid UTF-8; nameDest: not valid UTF-8": 1}


def test_truncated_last_row_is_quarantined_with_its_line_not_a_label_error(spark, tmp_path):
    folder = lines_file(tmp_path, [*VALID_LINES, "5,TRANSFER,181.0,C13"], end=b"")
    valid, bad, _ = quarantined(folder)
    assert valid.count() == 2
    assert bad[4]["problems"] == "row has 4 fields, the header 11"
    assert bad[4]["raw_line"] == "5,TRANSFER,181.0,C13" and bad[4]["nameOrig"] == "C13"


def test_row_with_an_extra_field_keeps_it_in_the_quarantine(spark, tmp_path):
    valid, bad, _ = quarantined(lines_file(tmp_path, [VALID_LINES[0], VALID_LINES[1] + ",oops"]))
    assert valid.count() == 1
    assert bad[3]["problems"] == "row has 12 fields, the header 11"
    assert bad[3]["raw_line"].endswith(",1,0,oops")


def test_quotes_blank_lines_repeated_headers_and_line_numbers(spark, tmp_path):
    lines = [VALID_LINES[0], "", '6,PAYMENT,"1,5",C5,5.0,0.0,M1,0.0,0.0,0,0',
             '7,PAYMENT,"5.0",C6,5.0,0.0,"M""1",0.0,0.0,0,0', EXPECTED_HEADER,
             '8,PAYMENT,"5.0,C6,5.0,0.0,M1,0.0,0.0,0,0']
    valid, bad, report = quarantined(lines_file(tmp_path, lines))
    assert report["rows"] == 4  # the blank line and the header again are not rows
    assert {row["nameDest"] for row in valid.collect()} == {"M1979787155", 'M"1'}
    assert bad[4]["problems"] == "amount: not a number ('1,5')"
    assert bad[7]["problems"] == (
        "row: its quotes do not pair up (a quoted value may not span lines)")


def test_line_numbers_across_files_and_file_splits(spark, tmp_path):
    rows = [ROW.format(amount=f"{i}.0", old="100.0") for i in range(1, 40)]
    rows[30] = ROW.format(amount="NaN", old="100.0")
    lines_file(tmp_path, rows)
    write(tmp_path, f"{EXPECTED_HEADER}\n{VALID_LINES[0]}\n1,2\n".encode(), name="b.csv")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "300")  # several splits per file
    try:
        _, bad, report = quarantined(tmp_path)
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert report["rows"] == 41
    assert {(Path(row["source_file"]).name, line) for line, row in bad.items()} == {
        ("transactions.csv", 32), ("b.csv", 3)}


def test_training_needs_labels_and_names_its_dataset(spark, tmp_path):
    folder = lines_file(tmp_path, [*VALID_LINES, "7,TRANSFER,5.0,C9,5.0,0.0,C8,0.0,0.0,,0"])
    with pytest.raises(RawDataError) as err:
        quarantined(folder)
    assert str(err.value).startswith("raw_transactions: column 'isFraud' must be 0 or 1")
    assert f"(empty; first at {folder / 'transactions.csv'} line 4)" in str(err.value)


def test_a_scoring_batch_may_have_no_labels(spark, tmp_path):
    header = EXPECTED_HEADER.replace(",isFraud", "")
    unlabeled = [line[: line.rindex(",", 0, line.rindex(","))] + ",0" for line in VALID_LINES]
    valid, bad, report = quarantined(lines_file(tmp_path, unlabeled, header=header),
                                     validate_scoring_transactions, "scoring_transactions")
    assert not bad and report["dataset"] == "scoring_transactions"
    table = build_model_input_table(valid, AggregateParams(balance_tolerance=0.01))
    assert [(row["isFraud"], row["label"]) for row in table.collect()] == [(None, None)] * 2


def test_a_scoring_batch_keeps_labels_where_given(spark, tmp_path):
    rows = [VALID_LINES[1], VALID_LINES[0].replace(",0,0", ",,0"),
            "7,TRANSFER,5.0,C9,5.0,0.0,C8,0.0,0.0,2,0"]
    valid, bad, _ = quarantined(lines_file(tmp_path, rows),
                                validate_scoring_transactions, "scoring_transactions")
    assert sorted((row["nameOrig"], row["isFraud"]) for row in valid.collect()) == [
        ("C1231006815", None), ("C1305486145", 1)]
    assert bad[4]["problems"] == "isFraud: not 0, 1 or empty ('2')"


def test_errors_name_the_dataset_read_and_show_bad_bytes_escaped(spark, tmp_path):
    header = EXPECTED_HEADER.replace("amount", "amo\x1b[31munt")
    folder = lines_file(tmp_path, VALID_LINES, header=header)
    with pytest.raises(RawDataError) as err:
        quarantined(folder, validate_scoring_transactions, "scoring_transactions")
    assert str(err.value).startswith("scoring_transactions: column 'amount' missing")
    assert "amo\\x1b[31munt" in str(err.value) and "\x1b" not in str(err.value)
    write(tmp_path, b"step,\xff\xfe\n1\n")
    with pytest.raises(DatasetError) as err:
        RawCsvDataset(filepath=str(tmp_path), name="scoring_transactions").load()
    assert "scoring_transactions: the header line of" in str(err.value)
    assert "('step,\\xff\\xfe')" in str(err.value)


def test_a_dataframe_from_sparks_csv_reader_is_still_validated(spark, tmp_path):
    """What another dataset (PachydermDataset's Spark backend) hands over: no line facts, so
    no line numbers, but every value check."""
    folder = lines_file(tmp_path, [*VALID_LINES, ROW.format(amount="Infinity", old="1.0")])
    raw = spark.read.csv(str(folder), header=True)
    valid, quarantine, _ = validate_transactions(raw, SPLIT)
    assert valid.count() == 2
    row = quarantine.first()
    assert row["problems"] == "amount: not finite ('Infinity')" and row["line"] is None
    assert row["source_file"] == str(folder / "transactions.csv")
