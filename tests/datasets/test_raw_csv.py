"""RawCsvDataset: what a user sees when data/01_raw has no usable file."""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError

from fraud_detection.datasets import RawCsvDataset
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES, write_csv


def test_reads_every_column_as_text_from_matching_files_only(spark, tmp_path):
    write_csv(tmp_path, VALID_LINES)
    (tmp_path / "notes.txt").write_text("not data\n")
    (tmp_path / ".gitkeep").write_text("")
    data = RawCsvDataset(filepath=str(tmp_path)).load()
    assert data.columns == EXPECTED_HEADER.split(",")
    assert set(dict(data.dtypes).values()) == {"string"}
    assert data.count() == 2


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
