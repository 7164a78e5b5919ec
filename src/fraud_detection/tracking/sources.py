"""``mlflow.data`` dataset sources that name an exact dataset version.

MLflow shows a run's dataset inputs with their source; these sources carry the Kedro path
and version, or the Pachyderm ``pfs://`` URI with its commit, so the run page answers
"which data?" on its own. Both are registered with MLflow's dataset source registry.
"""

from __future__ import annotations

from typing import Any

from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import register_dataset_source
from mlflow.data.meta_dataset import MetaDataset

from .versions import DatasetVersion


class _VersionSource(DatasetSource):
    """A source identified by a URI and a version; it is a pointer, not a loader."""

    def __init__(self, uri: str, version: str | None = None, path: str | None = None):
        self.uri, self.version, self.path = uri, version, path

    def load(self) -> Any:
        raise NotImplementedError(f"load {self.uri} through the Kedro catalog")

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> _VersionSource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> _VersionSource:
        return cls(**source_dict)


class KedroDatasetSource(_VersionSource):
    """A Kedro file dataset: ``file://<filepath>/<version>/<name>@<version>``."""

    @staticmethod
    def _get_source_type() -> str:
        return "kedro"


class PachydermDatasetSource(_VersionSource):
    """A file in Pachyderm: ``pfs://<address>/<project>/<repo>@<commit>:<path>``."""

    @staticmethod
    def _get_source_type() -> str:
        return "pachyderm"


_SOURCES = {"kedro": KedroDatasetSource, "pachyderm": PachydermDatasetSource}
for _source in _SOURCES.values():
    register_dataset_source(_source)


def mlflow_dataset(version: DatasetVersion) -> MetaDataset:
    """The ``mlflow.data`` entity for one dataset version (digest: the content's sha256)."""
    source = _SOURCES[version.kind](version.uri, version.version, version.path)
    digest = (version.digest or version.version or "unknown")[:36]
    return MetaDataset(source=source, name=version.name, digest=digest)
