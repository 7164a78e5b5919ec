"""RawCsvDataset: what a user sees when data/01_raw has no usable file."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError
from pyspark.sql import functions as F

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES, write_csv


def test_reads_every_column_as_text_from_matching_files_only(spark, tmp_path):
    write_csv(tmp_path, VALID_LINES)
    (tmp_path / "notes.txt").write_text("not data\n")
    (tmp_path / ".gitkeep").write_text("")
    data = RawCsvDataset(filepath=str(tmp_path)).load()
    assert data.columns == [*EXPECTED_HEADER.split(","), "_line"]
    assert set(dict(data.dtypes[:-1]).values()) == {"string"}
    # Every line is a row, the header marked as such (line numbers count it).
    assert data.count() == 3 and data.where(~F.col("_line.header")).count() == 2


def test_tells_the_hooks_its_folder_and_the_files_to_digest(spark, tmp_path):
    write_csv(tmp_path, VALID_LINES)
    (tmp_path / "notes.txt").write_text("not data\n")
    dataset = RawCsvDataset(filepath=str(tmp_path))
    record = dataset.loaded_version()
    assert (record.kind, record.uri, record.version) == ("kedro", f"file://{tmp_path}", None)
    assert sorted(record.files) == sorted(tmp_path.glob("*.csv")) and not record.immutable
    assert dataset.saved_version() is None  # read-only


def test_no_csv_file_says_where_and_how_to_get_one(spark, tmp_path):
    with pytest.raises(DatasetError) as err:
        RawCsvDataset(filepath=str(tmp_path)).load()
    assert f"no file matching '*.csv' in {tmp_path}" in str(err.value)
    assert "kedro run --pipelines data_generation" in str(err.value)


def test_empty_file_is_named(spark, tmp_path):
    (tmp_path / "transactions.csv").write_text("")
    with pytest.raises(DatasetError) as err:
        RawCsvDataset(filepath=str(tmp_path)).load()
    assert f"{tmp_path / 'transactions.csv'} is empty" in str(err.value)
    assert EXPECTED_HEADER in str(err.value)


def test_is_read_only(spark, tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        RawCsvDataset(filepath=str(tmp_path)).save(spark.range(1))


def test_files_with_different_header_lines_are_refused_by_name(spark, tmp_path):
    """Spark would read the second file by the first one's column order: values misplaced."""
    write_csv(tmp_path, VALID_LINES)
    swapped = EXPECTED_HEADER.replace("oldbalanceOrg,newbalanceOrig",
                                      "newbalanceOrig,oldbalanceOrg")
    write_csv(tmp_path, VALID_LINES, header=swapped, name="later.csv")
    quoted = ",".join(f'"{name}"' for name in EXPECTED_HEADER.split(","))
    write_csv(tmp_path, VALID_LINES, header=quoted, name="quoted.csv")  # the same columns
    with pytest.raises(DatasetError) as err:
        RawCsvDataset(filepath=str(tmp_path)).load()
    message = str(err.value)
    assert f"the files in {tmp_path} have different header lines" in message
    assert f"{swapped} in {tmp_path / 'later.csv'}; " in message
    assert (f"{EXPECTED_HEADER} in {tmp_path / 'quoted.csv'}, "
            f"{tmp_path / 'transactions.csv'})") in message
    assert message.endswith(f"Give every file the header {EXPECTED_HEADER}")


def test_files_with_the_same_header_are_read_together(spark, tmp_path):
    write_csv(tmp_path, VALID_LINES)
    write_csv(tmp_path, VALID_LINES, name="later.csv")
    data = RawCsvDataset(filepath=str(tmp_path)).load()
    assert data.where(~F.col("_line.header")).count() == 4
