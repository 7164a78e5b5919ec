"""``RawCsvDataset``: the raw CSV folder read by Spark, every column as text.

Spark alone reports an empty or missing input as "Unable to infer schema"; this dataset
says which folder and files it looked at and what it expected instead. Spark also takes the
column names from one file's header and reads every other file by position, so files whose
header lines differ are refused, naming them, instead of being read into the wrong columns.

Example (conf/base/catalog.yml)::

    raw_transactions@spark:
      type: fraud_detection.datasets.RawCsvDataset
      filepath: data/01_raw
      pattern: "*.csv"
"""

from __future__ import annotations

import csv
from typing import Any

import fsspec
from kedro.io.core import DatasetError
from kedro_datasets.spark import SparkDatasetV2
from pyspark.sql import DataFrame

from fraud_detection.schema import EXPECTED_HEADER


class RawCsvDataset(SparkDatasetV2):
    """A read-only CSV folder with a header line; files are selected by ``pattern``."""

    def __init__(self, *, filepath: str, pattern: str = "*.csv", **kwargs: Any) -> None:
        load_args = {"header": True, "mode": "PERMISSIVE", **kwargs.pop("load_args", {})}
        load_args["pathGlobFilter"] = pattern
        super().__init__(filepath=filepath, file_format="csv", load_args=load_args, **kwargs)
        self._pattern = pattern

    def _load(self) -> DataFrame:
        files = self._matching_files()
        if not files:
            raise DatasetError(
                f"raw transactions: no file matching '{self._pattern}' in {self._path}; put the "
                "PaySim CSV there or generate one with 'kedro run --pipelines data_generation'"
            )
        empty = [path for path, size in files.items() if size == 0]
        if len(empty) == len(files):
            raise DatasetError(
                f"raw transactions: {', '.join(sorted(empty))} is empty; expected a CSV file "
                f"with the header {EXPECTED_HEADER} and one transaction per line"
            )
        self._check_same_header([path for path, size in files.items() if size])
        return super()._load()

    def _check_same_header(self, paths: list[str]) -> None:
        fs, _ = fsspec.core.url_to_fs(self._spark_path)
        by_header: dict[tuple[str, ...], list[str]] = {}
        for path in sorted(paths):
            with fs.open(path, "rb") as file:
                line = file.readline().decode("utf-8", "replace").removeprefix("\ufeff")
            by_header.setdefault(tuple(next(csv.reader([line]), [])), []).append(path)
        if len(by_header) > 1:
            found = "; ".join(
                f"{','.join(header) or '(no header)'} in {', '.join(files[:3])}"
                + (f" and {len(files) - 3} more" if len(files) > 3 else "")
                for header, files in by_header.items()
            )
            raise DatasetError(
                f"raw transactions: the files in {self._path} have different header lines "
                f"({found}); Spark would read them all by one header's column order, putting "
                f"values in the wrong columns. Give every file the header {EXPECTED_HEADER}"
            )

    def _matching_files(self) -> dict[str, int]:
        fs, root = fsspec.core.url_to_fs(self._spark_path)
        return {
            path: int(fs.size(path))
            for path in fs.glob(f"{root.rstrip('/')}/{self._pattern}")
            if fs.isfile(path)
        }

    def _save(self, data: DataFrame) -> None:
        raise DatasetError(
            f"raw transactions in {self._path} are read-only here; the data_generation "
            "pipeline writes them through raw_transactions@pandas"
        )
