"""What a dataset loaded or saved, told to the hooks through one interface.

A dataset of this project says which exact version it read or wrote by implementing
:class:`TracksVersions` (``loaded_version`` / ``saved_version``, each a
:class:`VersionRecord`). kedro-datasets' datasets (SparkDatasetV2, pandas, JSON,
matplotlib...) do not know this interface: :func:`version_record` adapts them, and it is the
only place that knows Kedro's versioning internals. Hooks call :func:`version_record` and
never look inside a dataset.

Example::

    >>> record = version_record(catalog.get("model_input_table"), saved=True)
    >>> record.kind, record.version, record.uri
    ('kedro', '2026-01-01T00.00.00.000Z', 'file:///.../model_input_table@2026-...')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

from kedro.io import CachedDataset
from kedro.io.core import AbstractVersionedDataset


@dataclass(frozen=True)
class VersionRecord:
    """The exact version a dataset loaded or saved.

    ``kind``: ``kedro`` (files, identified by the Kedro version or, unversioned, by their
    content digest), ``pachyderm`` (a commit) or ``mlflow`` (a registered model version).
    ``uri`` names the exact version; ``path`` is where it is stored, as Spark and fsspec
    address it. ``digest`` is a digest the dataset already knows (a Pachyderm commit ID);
    ``files`` are the local files or folders a content digest is to be computed over
    (``None``: nothing to hash). ``immutable``: a Kedro versioned path, never written again
    once saved, so its digest is computed once per run.
    """

    kind: str
    uri: str
    version: str | None
    path: str | None = None
    digest: str | None = None
    files: tuple[Path, ...] | None = None
    immutable: bool = False


@runtime_checkable
class TracksVersions(Protocol):
    """A dataset that tells the hooks what its last load and its save read or wrote."""

    def loaded_version(self) -> VersionRecord | None:
        """The version the last ``load`` read; ``None`` before any load."""

    def saved_version(self) -> VersionRecord | None:
        """The version this run's save writes (before the save: where it will write, when
        the dataset knows) or wrote; ``None`` when there is none."""


@runtime_checkable
class TakesRunMetadata(Protocol):
    """A dataset that stores the run's IDs and lineage with the version it saves."""

    def set_run_metadata(self, metadata: dict[str, Any] | None = None, **fields: Any) -> None:
        """Merge ``metadata`` and ``fields`` into what the next save records."""


def stored_dataset(dataset: Any) -> Any:
    """The dataset that holds the files: the wrapped one of a ``CachedDataset``."""
    # CachedDataset keeps the dataset it wraps in ``_dataset`` and offers no accessor.
    return dataset._dataset if isinstance(dataset, CachedDataset) else dataset


def version_record(dataset: Any, saved: bool) -> VersionRecord | None:
    """What ``dataset`` just loaded (``saved=False``) or saves/saved, without reading it.

    The adapter for datasets that do not implement :class:`TracksVersions`: Kedro versioned
    datasets, and unversioned file datasets (identified by their content digest). Datasets
    held only in memory, and parameters, have no version: ``None``.
    """
    dataset = stored_dataset(dataset)
    if isinstance(dataset, TracksVersions):
        return dataset.saved_version() if saved else dataset.loaded_version()
    if isinstance(dataset, AbstractVersionedDataset) and is_versioned(dataset):
        return kedro_version(dataset, saved)
    # Kedro's file datasets keep their path in ``_filepath`` (no public accessor).
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return None
    location = _location(dataset, filepath)
    return VersionRecord("kedro", file_uri(location), None, location, files=_local(location))


def is_versioned(dataset: AbstractVersionedDataset) -> bool:
    """Whether the catalog made ``dataset`` versioned (``versioned: true``)."""
    # Kedro stores the ``Version`` it was given in ``_version`` (None: unversioned).
    return dataset._version is not None


def kedro_version(dataset: AbstractVersionedDataset, saved: bool) -> VersionRecord:
    """A Kedro versioned dataset's version: the folder ``<filepath>/<version>/<name>``.

    ``resolve_save_version``/``resolve_load_version`` are Kedro's public API. The path comes
    from ``_get_versioned_path``, which ``_get_load_path``/``_get_save_path`` (Kedro's
    documented extension points) use too; those two are not called here because
    ``_get_save_path`` refuses a version that already exists, which it does after the save.
    """
    version = dataset.resolve_save_version() if saved else dataset.resolve_load_version()
    location = _location(dataset, dataset._get_versioned_path(version))
    return VersionRecord("kedro", file_uri(location, version), version, location,
                         files=_local(location), immutable=True)


def version_location(dataset: Any, version: str) -> str | None:
    """Where version ``version`` of a Kedro versioned dataset is stored; ``None`` for any
    other dataset."""
    dataset = stored_dataset(dataset)
    if not isinstance(dataset, AbstractVersionedDataset):
        return None
    return _location(dataset, dataset._get_versioned_path(version))


def file_uri(location: str, version: str | None = None) -> str:
    """``file:///path`` (or the location's own scheme), with ``@<version>`` when versioned."""
    base = location if "://" in location else f"file://{location}"
    return f"{base}@{version}" if version else base


def _location(dataset: Any, path: PurePosixPath | str) -> str:
    """The path as Spark and fsspec address it: plain when local, else with its protocol."""
    # Kedro's file datasets strip the protocol from ``_filepath`` and keep it in
    # ``_protocol``; datasets without one are local.
    text = str(path)
    protocol = getattr(dataset, "_protocol", None)
    if "://" in text or protocol in (None, "file"):
        return text
    return f"{protocol}://{text}"


def _local(location: str) -> tuple[Path, ...] | None:
    """The local file or folder at ``location``, for a content digest; ``None`` if remote."""
    text = location.removeprefix("file://")
    return (Path(text),) if "://" not in text else None
