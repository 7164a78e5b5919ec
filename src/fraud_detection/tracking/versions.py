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
from pathlib import Path
from typing import Any

from fraud_detection.datasets.versioned import stored_dataset, version_record
from fraud_detection.tracking.pfs_mounts import as_commit

__all__ = ["BackgroundDigests", "DatasetVersion", "LocatedVersion", "content_digest",
           "locate_version", "stored_dataset", "with_digest"]

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


def locate_version(name: str, dataset: Any, saved: bool) -> LocatedVersion | None:
    """Where the version of ``dataset`` just loaded or saved lives, without reading it:
    what the dataset tells through :class:`~fraud_detection.datasets.versioned.TracksVersions`
    (kedro-datasets' datasets through the one adapter, :func:`version_record`). In a
    Pachyderm pipeline worker, files under ``/pfs`` are named by their commit
    (:func:`~fraud_detection.tracking.pfs_mounts.as_commit`)."""
    record = as_commit(version_record(dataset, saved))
    if record is None:
        return None
    version = DatasetVersion(name, record.kind, record.uri, record.version, record.digest,
                             record.path)
    files = list(record.files) if record.files is not None else None
    return LocatedVersion(version, files, immutable=record.immutable)


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
