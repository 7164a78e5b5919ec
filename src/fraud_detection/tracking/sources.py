"""``mlflow.data`` dataset sources that name an exact dataset version.

MLflow shows a run's dataset inputs with their source; these sources carry the Kedro path,
version and content sha256, or the Pachyderm ``pfs://`` URI with its commit, so the run page
answers "which data?" on its own. Both are registered with MLflow's dataset source registry.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mlflow.data.dataset_source import DatasetSource
from mlflow.data.dataset_source_registry import register_dataset_source
from mlflow.data.meta_dataset import MetaDataset

from .versions import DatasetVersion


class _VersionSource(DatasetSource):
    """A source identified by a URI and a version; it is a pointer, not a loader."""

    def __init__(self, uri: str, version: str | None = None, path: str | None = None,
                 sha256: str | None = None):
        self.uri, self.version, self.path, self.sha256 = uri, version, path, sha256

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


for _source in (KedroDatasetSource, PachydermDatasetSource):
    register_dataset_source(_source)


def mlflow_dataset(version: DatasetVersion) -> MetaDataset:
    """The ``mlflow.data`` entity for one dataset version.

    MLflow keeps one dataset per experiment for each name and digest, with the source it was
    first logged with, so the digest must tell versions apart, not only contents (two runs
    that write the same bytes, such as the same plots, write two versions): the Pachyderm
    commit, or a hash of the URI and the content sha256, which the source holds in full.
    """
    if version.kind == "pachyderm":
        source = PachydermDatasetSource(version.uri, version.version, version.path)
        digest = version.version or "unknown"
    else:
        source = KedroDatasetSource(version.uri, version.version, version.path, version.digest)
        digest = hashlib.sha256(f"{version.uri}\0{version.digest}".encode()).hexdigest()
    return MetaDataset(source=source, name=version.name, digest=digest[:36])
