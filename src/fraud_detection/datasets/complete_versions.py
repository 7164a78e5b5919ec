"""Versioned datasets load their newest *complete* version, and say what they skipped.

A Kedro versioned dataset saves to ``<filepath>/<version>/<name>``; Kedro loads the newest
``<version>`` holding ``<name>``. A save stopped by ``kill -9`` or the OOM killer runs no
Python code afterwards, so it leaves that folder as it was: empty, with only Spark's
``_temporary`` files, or with a half-written file. Kedro would load it (Spark: "Unable to
infer schema", pandas: a parse error, or worse, part of the data without a word).

The completeness rule, the same for Spark, pandas and JSON datasets, local and fsspec paths:

- Before a save starts, the project writes a marker ``<filepath>/<version>/.kedro-saving.json``
  naming the host, the process ID and the process start time; when the save has returned,
  the marker goes (:class:`fraud_detection.hooks.unfinished_saves.UnfinishedSavesHook`). A
  version with a marker is unfinished, unless the marker is this very process's (a save of
  this run that has returned and whose marker is being removed).
- A version whose ``<name>`` holds no data file (every entry empty, or named ``_...`` or
  ``.``... as Spark's ``_temporary`` and ``_SUCCESS``, which Spark's reader ignores too) is
  unfinished: it can never reach Spark's schema inference.

Kedro resolves versions inside each dataset (``AbstractVersionedDataset._get_versions`` and
``resolve_load_version``), and the catalog uses kedro-datasets' classes directly, so there is
no catalog-level place to choose another version. :func:`install` wraps those two methods of
the base class once, for every versioned dataset of the process; ``settings.py`` calls it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from functools import wraps
from pathlib import PurePosixPath
from typing import Any

import fsspec
import psutil
from kedro.io.core import AbstractVersionedDataset, DatasetError, VersionNotFoundError

logger = logging.getLogger(__name__)

MARKER = ".kedro-saving.json"
_reported: set[str] = set()  # versions already named as skipped in this process


class IncompleteVersionError(DatasetError):
    """An explicitly requested version (``--load-versions``) was never completely saved."""


def process_identity(pid: int | None = None) -> dict[str, Any]:
    """Host, process ID and its start time: a reused process ID is not the same process."""
    pid = pid or os.getpid()
    return {"host": socket.gethostname(), "pid": pid,
            "started": psutil.Process(pid).create_time()}


def process_runs(host: str, pid: int, started: float) -> bool | None:
    """Whether the process still runs; ``None`` when it ran on another host (unknowable)."""
    if host != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def write_marker(fs: fsspec.AbstractFileSystem, folder: str) -> None:
    """Mark ``folder`` (``<filepath>/<version>``) as being saved by this process."""
    fs.makedirs(folder, exist_ok=True)
    fs.pipe_file(f"{folder}/{MARKER}", json.dumps(process_identity()).encode())


def remove_marker(fs: fsspec.AbstractFileSystem, folder: str) -> None:
    """The save into ``folder`` completed."""
    if fs.exists(f"{folder}/{MARKER}"):
        fs.rm(f"{folder}/{MARKER}")


def filesystem(dataset: Any) -> fsspec.AbstractFileSystem:
    """The dataset's own fsspec file system, else the one behind its ``exists`` function
    (kedro-datasets' Spark datasets), else one for its protocol."""
    fs = getattr(dataset, "_fs", None)
    if fs is None:
        fs = getattr(getattr(dataset, "_exists_function", None), "__self__", None)
    if isinstance(fs, fsspec.AbstractFileSystem):
        return fs
    return fsspec.filesystem(getattr(dataset, "_protocol", None) or "file")


def why_incomplete(fs: fsspec.AbstractFileSystem, data_path: str) -> str | None:
    """Why the version at ``data_path`` (``<filepath>/<version>/<name>``) is unfinished, or
    ``None`` when it is complete."""
    folder = str(PurePosixPath(data_path).parent)
    try:
        marker = json.loads(fs.cat_file(f"{folder}/{MARKER}"))
    except FileNotFoundError:
        marker = None
    except (OSError, ValueError) as error:
        return f"its save marker {MARKER} cannot be read ({error})"
    reason = _marker_reason(marker) if marker is not None else None
    if reason is not None:
        return reason
    if fs.isdir(data_path) and not _data_files(fs, data_path):
        return "it holds no data file (an interrupted write: empty, or only _temporary files)"
    return None


def _marker_reason(marker: dict[str, Any]) -> str | None:
    host, pid, started = marker.get("host"), marker.get("pid"), marker.get("started")
    runs = process_runs(str(host), int(pid or 0), float(started or 0))
    if runs and pid == os.getpid():
        # This process's own save: Kedro reads the version back inside ``save`` (a
        # consistency check) before the hook drops the marker. Its data is still checked.
        return None
    who = f"process {pid} on host {host}"
    if runs is None:
        return f"its save by {who} has not finished (it may still be running there)"
    if runs:
        return f"it is still being saved by {who}"
    return f"its save never finished: {who} no longer runs (killed during the save)"


def _data_files(fs: fsspec.AbstractFileSystem, data_path: str) -> bool:
    root = data_path.rstrip("/")
    for path in fs.find(root):
        parts = PurePosixPath(str(path)[len(root):].lstrip("/")).parts
        if parts and not any(part.startswith(("_", ".")) for part in parts):
            return True
    return False


def complete_versions(dataset: AbstractVersionedDataset, paths: list[str]) -> list[str]:
    """``paths`` (newest first) from the newest complete one on; the skipped ones logged."""
    fs = filesystem(dataset)
    skipped = []
    for index, path in enumerate(paths):
        reason = _checked(fs, path)
        if reason is None:
            _report(skipped, PurePosixPath(path).parent.name)
            return paths[index:]
        skipped.append((path, reason))
    _report(skipped, None)
    if skipped:
        raise VersionNotFoundError(
            f"no complete version of {dataset._filepath}: {_listed(skipped)}. Run the "
            "pipeline that writes it again, or delete those folders"
        )
    return paths


def _checked(fs: fsspec.AbstractFileSystem, path: str) -> str | None:
    """:func:`why_incomplete`, or ``None`` with a warning where the file system cannot tell
    (e.g. a listing refused): the version loads as Kedro alone would load it."""
    try:
        return why_incomplete(fs, path)
    except Exception as error:  # noqa: BLE001 - a check that fails must not stop the load
        logger.warning("%s: cannot check that this version is complete (%s); loading it",
                       path, error)
        return None


def _report(skipped: list[tuple[str, str]], loaded: str | None) -> None:
    for path, reason in skipped:
        if path in _reported:
            continue
        _reported.add(path)
        instead = f"; loading {loaded} instead" if loaded else ""
        logger.warning("%s: skipped unfinished version %s: %s%s",
                       PurePosixPath(path).parent.parent, PurePosixPath(path).parent.name,
                       reason, instead)


def _listed(skipped: list[tuple[str, str]]) -> str:
    return "; ".join(f"version {PurePosixPath(p).parent.name}: {r}" for p, r in skipped)


def check_requested(dataset: AbstractVersionedDataset, version: str) -> None:
    """Refuse an explicit load version that was never completely saved."""
    path = str(dataset._get_versioned_path(version))
    fs = filesystem(dataset)
    if not fs.exists(path):
        return  # Kedro's own error names the missing version
    reason = why_incomplete(fs, path)
    if reason is not None:
        raise IncompleteVersionError(
            f"version {version} of {dataset._filepath} cannot be loaded: {reason}. Load "
            "another version (--load-versions), or leave the version out to load the "
            "newest complete one"
        )


def install() -> None:
    """Make every Kedro versioned dataset of this process resolve complete versions only."""
    cls = AbstractVersionedDataset
    if getattr(cls._get_versions, "__complete_only__", False):
        return
    all_versions, resolve = cls._get_versions, cls.resolve_load_version

    @wraps(all_versions)
    def _get_versions(self: AbstractVersionedDataset) -> list[str]:
        return complete_versions(self, all_versions(self))

    @wraps(resolve)
    def resolve_load_version(self: AbstractVersionedDataset) -> str | None:
        version = resolve(self)
        if version is not None and self._version and self._version.load:
            check_requested(self, version)
        return version

    _get_versions.__complete_only__ = True  # type: ignore[attr-defined]
    cls._get_versions = _get_versions  # type: ignore[method-assign]
    cls.resolve_load_version = resolve_load_version  # type: ignore[method-assign]
