"""Reading and writing ``PachydermDataset`` formats on local disk (the staging area).

A format is one file (``csv``, ``parquet``, ``json``, ``raw_csv``) or one directory
(``parquet_dir``, ``spark_model``) in the repo. ``raw_csv`` is a PaySim CSV read as
:class:`~fraud_detection.datasets.raw_csv.RawCsvDataset` reads it (line by line: field counts,
UTF-8 and line numbers checked, see ``pipelines.split.csv_lines``); it is only loaded.
Single-file formats are the same bytes whichever backend wrote them, so ``name@pandas`` and
``name@spark`` catalog entries can share one path: Spark writes through ``coalesce(1)`` and
the one part file becomes the dataset file.
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

from kedro.io.core import DatasetError

# format -> backends it supports; the first one is the default.
BACKENDS: dict[str, tuple[str | None, ...]] = {
    "csv": ("pandas", "spark"),
    "parquet": ("pandas", "spark"),
    "parquet_dir": ("spark",),
    "spark_model": ("spark",),
    "json": (None,),
    "raw_csv": ("spark",),
}
DIRECTORY_FORMATS = frozenset({"parquet_dir", "spark_model"})

DEFAULT_LOAD_ARGS: dict[tuple[str, str | None], dict[str, Any]] = {
    ("csv", "spark"): {"header": True, "inferSchema": True},
}
DEFAULT_SAVE_ARGS: dict[tuple[str, str | None], dict[str, Any]] = {
    ("csv", "pandas"): {"index": False},
    ("csv", "spark"): {"header": True},
    ("json", None): {"indent": 2},
}
_SPARK_FORMAT = {"csv": "csv", "parquet": "parquet", "parquet_dir": "parquet"}
_SKIPPED_NAMES = ("_SUCCESS",)


def _spark():
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


def _expect(data: Any, kind: str, file_format: str, backend: str | None) -> None:
    if kind == "pandas":
        import pandas as pd

        ok = isinstance(data, pd.DataFrame)
    elif kind == "spark":
        from pyspark.sql import DataFrame

        ok = isinstance(data, DataFrame)
    elif kind == "model":
        ok = callable(getattr(data, "write", None))
    else:
        ok = isinstance(data, (dict, list))
    if not ok:
        wanted = {"pandas": "a pandas DataFrame", "spark": "a Spark DataFrame",
                  "model": "a Spark ML model (e.g. PipelineModel)", "json": "a dict or list"}
        raise DatasetError(
            f"file_format {file_format!r} with backend {backend!r} saves {wanted[kind]}, "
            f"got {type(data).__module__}.{type(data).__name__}: choose the matching "
            "backend (or the @pandas / @spark transcoded entry)."
        )


def write_local(data: Any, file_format: str, backend: str | None, target: Path,
                save_args: dict[str, Any]) -> None:
    """Write ``data`` to the file (or directory) ``target``, which must not exist."""
    if file_format == "raw_csv":
        raise DatasetError(
            "file_format 'raw_csv' is read-only: save the CSV through a 'csv' entry (the "
            "data_generation pipeline writes raw_transactions@pandas)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "json":
        _expect(data, "json", file_format, backend)
        with target.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, **save_args)
    elif file_format == "spark_model":
        _expect(data, "model", file_format, backend)
        data.write().save(target.as_uri())
    elif backend == "pandas":
        _expect(data, "pandas", file_format, backend)
        writer = data.to_csv if file_format == "csv" else data.to_parquet
        writer(target, **save_args)
    else:
        _expect(data, "spark", file_format, backend)
        args = {k: v for k, v in save_args.items() if k != "mode"}
        if file_format == "parquet_dir":
            data.write.save(target.as_uri(), format="parquet", **args)
        else:
            _write_spark_single_file(data, _SPARK_FORMAT[file_format], target, args)


def _write_spark_single_file(df, fmt: str, target: Path, args: dict[str, Any]) -> None:
    scratch = target.with_name(target.name + ".spark")
    df.coalesce(1).write.save(scratch.as_uri(), format=fmt, **args)
    parts = sorted(p for p in scratch.iterdir() if p.name.startswith("part-"))
    if len(parts) != 1:
        raise DatasetError(
            f"Spark wrote {len(parts)} part files for a single-file {fmt} dataset; "
            "use file_format 'parquet_dir' for partitioned output."
        )
    parts[0].replace(target)
    shutil.rmtree(scratch)


def read_local(source: Path, file_format: str, backend: str | None,
               load_args: dict[str, Any]) -> Any:
    """Read the file (or directory) ``source`` written by ``write_local`` or anyone else."""
    if file_format == "json":
        with source.open(encoding="utf-8") as handle:
            return json.load(handle, **load_args)
    if file_format == "spark_model":
        args = dict(load_args)
        module, _, name = args.pop("model_class", "pyspark.ml.PipelineModel").rpartition(".")
        model_class = getattr(importlib.import_module(module), name)
        return model_class.load(source.as_uri())
    if file_format == "raw_csv":
        from fraud_detection.datasets.raw_csv import RawCsvDataset

        return RawCsvDataset(filepath=str(source.parent), pattern=source.name,
                             **load_args).load()
    if backend == "pandas":
        import pandas as pd

        reader = pd.read_csv if file_format == "csv" else pd.read_parquet
        return reader(source, **load_args)
    return _spark().read.load(source.as_uri(), format=_SPARK_FORMAT[file_format], **load_args)


def staged_files(local: Path, pfs_path: str, is_directory: bool) -> list[tuple[str, Path]]:
    """(repo path, local file) pairs to upload; skips checksums and Spark's _SUCCESS."""
    if not is_directory:
        return [(pfs_path, local)]
    prefix = pfs_path.rstrip("/")
    files = []
    for path in sorted(local.rglob("*")):
        rel = path.relative_to(local)
        if path.is_dir() or path.name in _SKIPPED_NAMES \
                or any(part.startswith(".") for part in rel.parts):
            continue
        files.append((f"{prefix}/{rel.as_posix()}", path))
    return files
