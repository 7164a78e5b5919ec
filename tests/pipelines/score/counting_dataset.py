"""The project's raw CSV dataset, counting its loads: did a run read its batch?"""

from __future__ import annotations

from typing import ClassVar

from pyspark.sql import DataFrame

from fraud_detection.datasets import RawCsvDataset


class CountingCsvDataset(RawCsvDataset):
    """``RawCsvDataset`` itself; every load is also recorded in :attr:`loads` (``_load``:
    Kedro makes a dataset's ``_load`` its ``load``)."""

    loads: ClassVar[list[str]] = []

    def _load(self) -> DataFrame:
        type(self).loads.append(self._describe().get("filepath", ""))
        return super()._load()
