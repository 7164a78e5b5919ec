"""Which exact version of a dataset a run read or wrote, and a digest of its content.

Kedro versioned datasets live at ``<filepath>/<version>/<name>``; the raw CSV folder is a
plain, replaceable path identified by its content digest; Pachyderm datasets are identified
by a commit ID; a registered model loaded from MLflow by its version number. Datasets held
only in memory (and parameters) have no version: ``None``.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import CachedDataset
from kedro.io.core import AbstractVersionedDataset

# Spark's commit markers and checksums change with nothing about the data.
_IGNORED = ("_SUCCESS", "._SUCCESS.crc")
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class DatasetVersion:
    """A dataset's identity in one run; ``uri`` names the exact version."""

    name: str
    kind: str  # "kedro" for file datasets, "pachyderm" for PachydermDataset, "mlflow" models
    uri: str
    version: str | None
    digest: str | None
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def _files(paths: list[Path]) -> list[tuple[str, Path]]:
    """(name relative to its root, file) for every data file under ``paths``, sorted."""
    found = []
    for root in paths:
        if root.is_file():
            found.append((root.name, root))
        elif root.is_dir():
            found += [
                (str(file.relative_to(root)), file)
                for file in root.rglob("*")
                if file.is_file() and file.name not in _IGNORED
            ]
    return sorted(found)


def content_digest(paths: list[Path]) -> str | None:
    """sha256 over the relative names and bytes of every file; ``None`` if there are none."""
    files = _files(paths)
    if not files:
        return None
    digest = hashlib.sha256()
    for name, file in files:
        digest.update(name.encode() + b"\0")
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _local(path: PurePosixPath | str) -> Path | None:
    text = str(path)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    return Path(text) if "://" not in text else None


def _uri(path: str, version: str | None) -> str:
    base = path if "://" in path else f"file://{path}"
    return f"{base}@{version}" if version else base


@dataclass(frozen=True)
class LocatedVersion:
    """A dataset version before its digest: what to hash, and whether the bytes can change.

    ``files`` are the local files or folders the content digest covers (``None``: nothing to
    hash). ``immutable``: a Kedro versioned path, never written again once saved, so its
    digest can be computed once and reused when the run loads what it saved.
    """

    version: DatasetVersion
    files: list[Path] | None
    immutable: bool = False


def stored_dataset(dataset: Any) -> Any:
    """The dataset that holds the files: the wrapped one of a ``CachedDataset``."""
    return dataset._dataset if isinstance(dataset, CachedDataset) else dataset


def locate_version(name: str, dataset: Any, saved: bool) -> LocatedVersion | None:
    """Where the version of ``dataset`` just loaded or saved lives, without reading it."""
    dataset = stored_dataset(dataset)
    if hasattr(dataset, "loaded_uri"):  # MlflowModelDataset: a registered model, read-only
        uri = dataset.loaded_uri
        if saved or uri is None:
            return None
        version = str(dataset.resolved_version)
        return LocatedVersion(DatasetVersion(name, "mlflow", uri, version, None), None)
    if hasattr(dataset, "pfs_uri"):
        commit = dataset.last_save_commit if saved else dataset.last_load_commit
        return LocatedVersion(
            DatasetVersion(name, "pachyderm", dataset.pfs_uri(commit), commit, commit), None
        )
    if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
        version = dataset.resolve_save_version() if saved else dataset.resolve_load_version()
        path = dataset._get_versioned_path(version)
        local = _local(path)
        found = DatasetVersion(name, "kedro", _uri(str(path), version), version, None, str(path))
        return LocatedVersion(found, [local] if local else None, immutable=True)
    if hasattr(dataset, "_matching_files"):  # RawCsvDataset: a plain folder of CSV files
        files = [Path(p) for p in dataset._matching_files()]
        folder = str(dataset._filepath)
        return LocatedVersion(DatasetVersion(name, "kedro", _uri(folder, None), None, None, folder),
                              files)
    filepath = getattr(dataset, "_filepath", None)
    if filepath is not None:  # an unversioned file dataset
        local = _local(filepath)
        found = DatasetVersion(name, "kedro", _uri(str(filepath), None), None, None, str(filepath))
        return LocatedVersion(found, [local] if local else None)
    return None


def with_digest(located: LocatedVersion, digest: str | None) -> DatasetVersion:
    """The located version with its content digest filled in (Pachyderm: the commit)."""
    if located.files is None:
        return located.version
    return replace(located.version, digest=digest)


class BackgroundDigests:
    """Content digests computed in a worker thread while the pipeline goes on.

    hashlib releases the GIL while it hashes, so reading and hashing hundreds of megabytes
    of a saved table overlaps with the Spark work of the next node instead of adding to the
    run's wall time. Each immutable (Kedro versioned) path is hashed once per run.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._by_path: dict[str, Future] = {}

    def submit(self, located: LocatedVersion) -> Future:
        key = located.version.path if located.immutable else None
        if key is not None and key in self._by_path:
            return self._by_path[key]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="content-digest")
        future = self._pool.submit(content_digest, located.files)
        if key is not None:
            self._by_path[key] = future
        return future

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool, self._by_path = None, {}
