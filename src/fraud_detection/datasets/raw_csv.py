"""``RawCsvDataset``: the raw CSV folder read by Spark, every column as text.

The files are read as text lines and split into fields here
(:mod:`fraud_detection.pipelines.split.csv_lines`), not by Spark's CSV reader, which
silently replaces bytes that are not UTF-8, drops extra fields, fills missing ones and
forgets line numbers: each row keeps those facts for validation to refuse it precisely.

Spark alone reports an empty or missing input as "Unable to infer schema"; this dataset
says which folder and files it looked at and what it expected instead. Spark also takes the
column names from one file's header and reads every other file by position, so files whose
header lines differ are refused, naming them, instead of being read into the wrong columns.

Example (conf/base/catalog.yml)::

    raw_transactions@spark:
      type: fraud_detection.datasets.RawCsvDataset
      filepath: data/01_raw
      pattern: "*.csv"
      name: raw_transactions      # the catalog name, for messages

The loaded DataFrame has one row per line of every file (header and blank lines too, marked
so in its struct column ``_line``: validation skips them, and counts them to give each bad
row its line number) and one text column per header name; see ``csv_lines``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import fsspec
from kedro.io.core import DatasetError
from kedro_datasets._utils.spark_utils import get_spark_with_remote_support
from kedro_datasets.spark import SparkDatasetV2
from pyspark.sql import DataFrame

from fraud_detection.datasets.versioned import VersionRecord, file_uri
from fraud_detection.pipelines.split.csv_lines import BOM, to_fields
from fraud_detection.schema import EXPECTED_HEADER
from fraud_detection.text import shown


class RawCsvDataset(SparkDatasetV2):
    """A read-only CSV folder with a header line; files are selected by ``pattern``."""

    def __init__(
        self, *, filepath: str, pattern: str = "*.csv", name: str = "raw_transactions",
        **kwargs: Any,
    ) -> None:
        load_args = {**kwargs.pop("load_args", {}), "pathGlobFilter": pattern}
        super().__init__(filepath=filepath, file_format="text", load_args=load_args, **kwargs)
        self._pattern = pattern
        self._name = name

    def _load(self) -> DataFrame:
        files = self._matching_files()
        if not files:
            raise DatasetError(
                f"{self._name}: no file matching '{self._pattern}' in {self._path}; put the "
                "PaySim CSV there or generate one with 'kedro run --pipelines data_generation'"
            )
        empty = [path for path, size in files.items() if size == 0]
        if len(empty) == len(files):
            raise DatasetError(
                f"{self._name}: {', '.join(sorted(empty))} is empty; expected a CSV file "
                f"with the header {EXPECTED_HEADER} and one transaction per line"
            )
        header_line = self._check_same_header([path for path, size in files.items() if size])
        header = next(csv.reader([header_line]), [])
        text = get_spark_with_remote_support().read.options(**self._load_args).text(
            self._spark_path
        )
        return to_fields(text, header)

    def _check_same_header(self, paths: list[str]) -> str:
        """The header line all ``paths`` share (without a byte order mark); else an error."""
        fs, _ = fsspec.core.url_to_fs(self._spark_path)
        by_header: dict[tuple[str, ...], list[str]] = {}
        line = ""
        for path in sorted(paths):
            with fs.open(path, "rb") as file:
                raw = file.readline().rstrip(b"\r\n")
            try:
                line = raw.decode("utf-8").removeprefix(BOM)
            except UnicodeDecodeError:
                raise DatasetError(
                    f"{self._name}: the header line of {path} is not valid UTF-8 "
                    f"('{shown(raw)}'); expected the header {EXPECTED_HEADER}"
                ) from None
            by_header.setdefault(tuple(next(csv.reader([line]), [])), []).append(path)
        if len(by_header) > 1:
            found = "; ".join(
                f"{','.join(header) or '(no header)'} in {', '.join(files[:3])}"
                + (f" and {len(files) - 3} more" if len(files) > 3 else "")
                for header, files in by_header.items()
            )
            raise DatasetError(
                f"{self._name}: the files in {self._path} have different header lines "
                f"({shown(found, 2000)}); Spark would read them all by one header's column "
                "order, putting values in the wrong columns. Give every file the header "
                f"{EXPECTED_HEADER}"
            )
        return line

    def _matching_files(self) -> dict[str, int]:
        fs, root = fsspec.core.url_to_fs(self._spark_path)
        return {
            path: int(fs.size(path))
            for path in fs.glob(f"{root.rstrip('/')}/{self._pattern}")
            if fs.isfile(path)
        }

    def loaded_version(self) -> VersionRecord:
        """The folder, identified by the content digest of the files it holds now."""
        folder = str(self._filepath)
        files = tuple(Path(path) for path in self._matching_files())
        return VersionRecord("kedro", file_uri(folder), None, folder, files=files)

    def saved_version(self) -> None:
        """Read-only: nothing is saved."""
        return

    def _save(self, data: DataFrame) -> None:
        raise DatasetError(
            f"{self._name} in {self._path} is read-only here; the data_generation "
            "pipeline writes them through raw_transactions@pandas"
        )
