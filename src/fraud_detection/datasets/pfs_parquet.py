"""Parquet files with deterministic names and bytes, for Pachyderm pipeline workers.

A worker reads its input from ``/pfs/<input>/...`` and writes to ``/pfs/out/...``. pachd
skips a datum whose input files hash the same as in an earlier job, so an unchanged shard
must come out of the split with the same bytes and the same file name. Spark's own writer
names part files with a random UUID, its parquet footers are not byte-stable across JVMs
(parquet-mr lists each column chunk's encodings from a hash set whose order changes from one
JVM to the next), and its writer re-sorts rows by the partition column only. This dataset
writes with Spark into a scratch folder, one file per partition value, then rewrites each
file with pyarrow, rows sorted by every column (the same rows in the same order whatever
order they arrived in), fixed writer options, Spark's schema metadata kept, as
``part-<sha256 of its bytes>.parquet``.

Example (``conf/pachyderm_worker/catalog.yml``)::

    transaction_shards:
      type: fraud_detection.datasets.pfs_parquet.PfsParquetDataset
      input_path: ${pfs_root:}/split/shards     # where the aggregate stage reads them
      output_path: ${pfs_root:}/out/shards      # where the split stage writes them
      partition_by: shard                       # shard=0/part-<sha>.parquet, ...

Python::

    PfsParquetDataset(input_path="/pfs/split/shards", output_path="/pfs/out/shards",
                      partition_by="shard").save(frame)
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from kedro.io import AbstractDataset, DatasetError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fraud_detection.datasets.versioned import VersionRecord, file_uri


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:32]


def _rewrite(source: Path, target: Path) -> None:
    """The same table (and Spark's schema metadata) with a writer whose bytes depend only on
    the rows and these options."""
    table = pq.read_table(source)
    table = table.sort_by([(name, "ascending") for name in table.column_names])
    pq.write_table(table, target, compression="snappy", use_dictionary=False,
                   write_statistics=True, version="2.6", data_page_version="1.0",
                   row_group_size=1 << 20)


class PfsParquetDataset(AbstractDataset[DataFrame, DataFrame]):
    """A Spark DataFrame as parquet files whose names and bytes depend only on the rows."""

    def __init__(self, *, input_path: str, output_path: str, partition_by: str | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        self._input = Path(input_path)
        self._output = Path(output_path)
        self._partition_by = partition_by
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"input_path": str(self._input), "output_path": str(self._output),
                "partition_by": self._partition_by}

    def loaded_version(self) -> VersionRecord:
        """The folder read (in a pachd worker, the tracking names its input commit)."""
        return VersionRecord("kedro", file_uri(str(self._input)), None, str(self._input),
                             files=(self._input,))

    def saved_version(self) -> VersionRecord:
        """The folder written (in a pachd worker, the job's output commit)."""
        return VersionRecord("kedro", file_uri(str(self._output)), None, str(self._output),
                             files=(self._output,))

    def load(self) -> DataFrame:
        files = sorted(self._input.rglob("*.parquet")) if self._input.is_dir() else []
        if not files:
            raise DatasetError(
                f"no parquet file under {self._input}: the input commit (or this datum) has "
                "none; check the pipeline's input repo and glob")
        return SparkSession.builder.getOrCreate().read.parquet(str(self._input))

    def save(self, data: DataFrame) -> None:
        if self._output.exists() and any(self._output.iterdir()):
            raise DatasetError(f"{self._output} already holds files; a worker writes each "
                               "output once, into an empty /pfs/out")
        scratch = Path(tempfile.mkdtemp(prefix="pfs-parquet-"))
        try:
            self._write(data, scratch / "data")
            self._move(scratch / "data")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _write(self, data: DataFrame, target: Path) -> None:
        """One part file per partition value (or one in all); rows are put in order when
        each file is rewritten (:func:`_rewrite`)."""
        if self._partition_by:
            laid_out = data.repartition(F.col(self._partition_by))
        else:
            laid_out = data.repartition(1)
        writer = laid_out.write.option("compression", "snappy")
        if self._partition_by:
            writer = writer.partitionBy(self._partition_by)
        writer.parquet(str(target))

    def _move(self, written: Path) -> None:
        """Part files rewritten byte-stably, to their content names; Spark's _SUCCESS and
        checksums left behind. Nothing reaches the output folder before every file is ready."""
        staged = []
        for part in sorted(written.rglob("part-*.parquet")):
            stable = part.with_name(part.name + ".stable")
            _rewrite(part, stable)
            folder = self._output / part.parent.relative_to(written)
            staged.append((stable, folder / f"part-{_digest(stable)}.parquet"))
        self._output.mkdir(parents=True, exist_ok=True)
        for source, target in staged:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)

    def _exists(self) -> bool:
        return self._input.is_dir() and any(self._input.rglob("*.parquet"))
