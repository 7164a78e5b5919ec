"""Which exact version of a dataset a run read or wrote, and a digest of its content.

Kedro versioned datasets live at ``<filepath>/<version>/<name>``; the raw CSV folder is a
plain, replaceable path identified by its content digest; Pachyderm datasets are identified
by a commit ID. Datasets held only in memory (and parameters) have no version: ``None``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset

# Spark's commit markers and checksums change with nothing about the data.
_IGNORED = ("_SUCCESS", "._SUCCESS.crc")
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class DatasetVersion:
    """A dataset's identity in one run; ``uri`` names the exact version."""

    name: str
    kind: str  # "kedro" for file datasets, "pachyderm" for PachydermDataset
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


def resolve_version(name: str, dataset: Any, saved: bool) -> DatasetVersion | None:
    """The version of ``dataset`` just loaded (``saved=False``) or saved (``saved=True``)."""
    if hasattr(dataset, "pfs_uri"):
        commit = dataset.last_save_commit if saved else dataset.last_load_commit
        return DatasetVersion(name, "pachyderm", dataset.pfs_uri(commit), commit, commit)
    if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
        version = dataset.resolve_save_version() if saved else dataset.resolve_load_version()
        path = dataset._get_versioned_path(version)
        local = _local(path)
        digest = content_digest([local]) if local else None
        return DatasetVersion(name, "kedro", _uri(str(path), version), version, digest, str(path))
    if hasattr(dataset, "_matching_files"):  # RawCsvDataset: a plain folder of CSV files
        files = [Path(p) for p in dataset._matching_files()]
        folder = str(dataset._filepath)
        return DatasetVersion(
            name, "kedro", _uri(folder, None), None, content_digest(files), folder
        )
    filepath = getattr(dataset, "_filepath", None)
    if filepath is not None:  # an unversioned file dataset
        local = _local(filepath)
        digest = content_digest([local]) if local else None
        return DatasetVersion(name, "kedro", _uri(str(filepath), None), None, digest, str(filepath))
    return None
