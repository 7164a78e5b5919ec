"""The raw CSV in Pachyderm is read like the local one: line by line, every row checked.

Spark's CSV reader would drop an extra field, null a missing one and rewrite invalid UTF-8
without a word; ``file_format: raw_csv`` reads the staged file with ``RawCsvDataset``.
"""

from __future__ import annotations

import pytest
from kedro.io.core import DatasetError

from fraud_detection.datasets.pachyderm import PachydermDataset
from fraud_detection.parameters import SplitParams
from fraud_detection.pipelines.split.nodes import validate_transactions
from fraud_detection.schema import EXPECTED_HEADER
from tests.raw_files import VALID_LINES

TRUNCATED = "3,TRANSFER,181.0,C1305486145"  # an interrupted download's last line


def _dataset(pachd, **kwargs) -> PachydermDataset:
    return PachydermDataset(repo="raw-transactions", path="/transactions.csv",
                            pachd_address=pachd.address, create_repo=True, **kwargs)


def _put(pachd, body: bytes) -> None:
    """Commit ``body`` as another user would, with the plain python-pachyderm client."""
    client = pachd.client()
    client.create_repo("raw-transactions")
    commit = client.start_commit("raw-transactions", "master")
    client.put_file_bytes(commit, "/transactions.csv", body)
    client.finish_commit(commit)
    client.wait_commit(commit.id)


def test_rows_are_checked_with_their_line_numbers(pachd, spark):
    body = "\n".join([EXPECTED_HEADER, *VALID_LINES, TRUNCATED]).encode() + b"\n"
    _put(pachd, body)
    raw = _dataset(pachd, file_format="raw_csv", load_args={"name": "raw_transactions"}).load()
    params = SplitParams(n_shards=2, max_quarantine_fraction=0.9)
    valid, quarantine, report = validate_transactions(raw, params)
    [bad] = quarantine.collect()
    assert (bad["line"], bad["problems"]) == (len(VALID_LINES) + 2,
                                              "row has 4 fields, the header 11")
    assert valid.count() == len(VALID_LINES) and report["rows"] == len(VALID_LINES) + 1


def test_raw_csv_is_read_only(pachd, spark):
    with pytest.raises(DatasetError, match="'raw_csv' is read-only"):
        _dataset(pachd, file_format="raw_csv").save(spark.createDataFrame([(1,)], ["step"]))
