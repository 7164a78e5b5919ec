"""``SparkMLModelDataset``: a fitted Spark ML ``PipelineModel`` in Spark's own format.

Versioned like any Kedro file dataset (``<filepath>/<version>/<name>``), so every run's
model stays next to the others. Spark writes and reads the directory itself, so the path
may be local, HDFS, S3 or a Unity Catalog Volume.

Example (conf/base/catalog.yml)::

    fraud_model:
      type: fraud_detection.datasets.SparkMLModelDataset
      filepath: data/06_models/fraud_model
      versioned: true
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractVersionedDataset, Version, get_protocol_and_path
from pyspark.ml import PipelineModel

from fraud_detection.datasets.versioned import VersionRecord, kedro_version


class SparkMLModelDataset(AbstractVersionedDataset[PipelineModel, PipelineModel]):
    """Saves with ``model.write().save(path)`` and loads with ``PipelineModel.load(path)``."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol)
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _uri(self, path: PurePosixPath) -> str:
        return str(path) if self._protocol == "file" else f"{self._protocol}://{path}"

    def load(self) -> PipelineModel:
        return PipelineModel.load(self._uri(self._get_load_path()))

    def save(self, data: PipelineModel) -> None:
        uri = self._uri(self._get_save_path())
        data.write().save(uri)

    def loaded_version(self) -> VersionRecord | None:
        """The Kedro version loaded; ``path`` is Spark's URI of the model folder."""
        return kedro_version(self, saved=False) if self._version else None

    def saved_version(self) -> VersionRecord | None:
        """The Kedro version saved; the MLflow hook copies the model from its ``path``."""
        return kedro_version(self, saved=True) if self._version else None

    def _exists(self) -> bool:
        return self._fs.exists(str(self._get_load_path()))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "protocol": self._protocol, "version": self._version}
