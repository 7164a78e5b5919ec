"""``MlflowModelDataset``: one version of a registered Spark model, read from the MLflow registry.

The version is named by an alias (``champion``, ``challenger``) or a version number, resolved
once per load (or once per run: ``resolve()``, which a hook calls before any node runs, so an
unknown alias or version fails before a batch is read); the loaded ``RegisteredModel`` carries
what every prediction must be stamped with (coordinate, version, training run) and the
version's scope, the transaction types it was trained on. Read-only: the training run's
MLflow hook registers versions and moves aliases.

The registry is whatever MLflow is pointed at: the MLflow hook sets the tracking and registry
URIs before any node runs, so inside a Kedro run no URI is needed here. Outside one (a
notebook, a script), pass ``tracking_uri`` / ``registry_uri`` or set ``MLFLOW_TRACKING_URI``.

Example (conf/base/catalog_score.yml)::

    scoring_model:
      type: fraud_detection.datasets.mlflow_model.MlflowModelDataset
      model_name: fraud-detector
      model_ref: ${runtime_params:score.model_ref, champion}   # alias or version number

Example (Python)::

    from fraud_detection.datasets.mlflow_model import MlflowModelDataset

    dataset = MlflowModelDataset(
        model_name="fraud-detector", model_ref="champion", tracking_uri="http://127.0.0.1:5000"
    )
    registered = dataset.load()
    registered.version, registered.coordinate  # 3, "com.example.fraud:paysim-decision-tree:1.0.3"
    registered.transaction_types  # ("CASH_OUT", "TRANSFER")
    predictions = registered.model.transform(features)
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import mlflow
from kedro.io.core import AbstractDataset, DatasetError
from mlflow.entities.model_registry import ModelVersion
from mlflow.entities.model_registry import RegisteredModel as RegistryEntry
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.ml.feature import StringIndexerModel

from fraud_detection.datasets.registry_listing import registered_model_names, registered_refs
from fraud_detection.datasets.versioned import VersionRecord
from fraud_detection.ml.registered_model import RegisteredModel
from fraud_detection.model_scope import SCOPE_KEY, parse_scope

logger = logging.getLogger(__name__)

_ALIAS = re.compile(r"^[\w\-]+$")


class MlflowModelDataset(AbstractDataset[None, RegisteredModel]):
    """Loads ``models:/<model_name>/<version>``, the version ``model_ref`` names, with mlflow.spark.

    ``resolved_version`` holds the version number of the last load; hooks learn it through
    ``loaded_version`` (:class:`~fraud_detection.datasets.versioned.TracksVersions`).
    """

    def __init__(
        self,
        *,
        model_name: str,
        model_ref: str | int = "champion",
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """
        Args:
            model_name: registered model name (Unity Catalog: ``catalog.schema.model``).
            model_ref: an alias (``champion``, ``challenger``) or a version number (``3``, ``"3"``).
            tracking_uri: MLflow tracking URI; ``None`` uses MLflow's current one.
            registry_uri: MLflow registry URI; ``None`` means the tracking store when
                ``tracking_uri`` is given (``databricks`` -> ``databricks-uc``, as MLflow
                does), else MLflow's current registry.
            metadata: free-form metadata, ignored by Kedro.
        """
        if not isinstance(model_name, str) or not model_name.strip():
            raise DatasetError(
                f"MlflowModelDataset: 'model_name' must be a registered model name, "
                f"got {model_name!r}"
            )
        self._model_name = model_name.strip()
        self._model_ref = _parse_ref(model_ref)
        self._tracking_uri = tracking_uri or None
        self._registry_uri = registry_uri or _default_registry(self._tracking_uri)
        self.metadata = metadata
        self.resolved_version: int | None = None
        self._pinned: tuple[ModelVersion, str | None] | None = None

    def resolve(self) -> int:
        """Resolve ``model_ref`` now and pin the version for the next ``load``; its number.

        Registry calls only, no download: a run calls it before any node runs, so an unknown
        alias or version fails before the batch is read or anything is written, and the run
        scores with the version the alias named when it started, even if the alias moves.
        """
        self._pinned = self._resolve(self._client())
        return int(self._pinned[0].version)

    def load(self) -> RegisteredModel:
        client = self._client()
        details, alias = self._pinned or self._resolve(client)
        self._pinned = None  # a later load resolves again
        version = int(details.version)
        model_uri = f"models:/{self._model_name}/{version}"
        model, logged = self._load_spark_model(client, version)
        self.resolved_version = version
        tags = dict(details.tags or {})
        run_id = tags.get("run_id") or details.run_id
        scope, scope_source = version_scope(model_uri, tags, logged, model)
        logger.info("Loaded %s (%s)", model_uri, f"alias {alias}" if alias else "by version")
        return RegisteredModel(
            model=model,
            name=self._model_name,
            version=version,
            alias=alias,
            coordinate=tags.get("coordinate"),
            run_id=run_id,
            source_uri=model_uri,
            threshold=_threshold(client, tags, run_id),
            transaction_types=scope,
            scope_source=scope_source,
        )

    def _client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self._tracking_uri, registry_uri=self._registry_uri)

    def loaded_version(self) -> VersionRecord | None:
        """``models:/<name>/<version>`` of the last load, ``None`` before any."""
        if self.resolved_version is None:
            return None
        uri = f"models:/{self._model_name}/{self.resolved_version}"
        return VersionRecord("mlflow", uri, str(self.resolved_version))

    def saved_version(self) -> None:
        """Read-only: models are registered by the training run, not saved here."""
        return

    def save(self, data: None) -> None:
        raise DatasetError(
            f"MlflowModelDataset '{self._model_name}' is read-only: models are registered by "
            "the training run's MLflow hook"
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "model_name": self._model_name,
            "model_ref": self._model_ref,
            "tracking_uri": _without_credentials(self._tracking_uri),
            "registry_uri": _without_credentials(self._registry_uri),
        }

    def _resolve(self, client: MlflowClient) -> tuple[ModelVersion, str | None]:
        """The version ``model_ref`` names and the alias used, or an error naming what exists."""
        try:
            registered = client.get_registered_model(self._model_name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            raise DatasetError(
                f"MLflow registry {self._where()}: no registered model '{self._model_name}'; "
                f"registered models: {registered_model_names(client)}. Train and register one "
                "with 'kedro run', or set model_name (mlflow.yml registered_model_name)"
            ) from None
        aliases = {key: int(value) for key, value in (registered.aliases or {}).items()}
        ref = self._model_ref
        if isinstance(ref, str) and ref not in aliases:
            self._unknown(client, f"alias '{ref}'", registered)
        version = aliases[ref] if isinstance(ref, str) else ref
        try:
            details = client.get_model_version(self._model_name, str(version))
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            self._unknown(client, f"version {ref}", registered)
        return details, ref if isinstance(ref, str) else None

    def _unknown(self, client: MlflowClient, what: str, registered: RegistryEntry) -> None:
        raise DatasetError(
            f"MLflow registry {self._where()}: model '{self._model_name}' has no {what}; "
            f"{registered_refs(client, registered)}. "
            "Set score.model_ref to one of them (kedro run --params score.model_ref=...)"
        )

    def _load_spark_model(self, client: MlflowClient, version: int
                          ) -> tuple[PipelineModel, Model]:
        """Download the version's files, then load them with ``mlflow.spark.load_model``;
        the model and its ``MLmodel`` description (whose metadata holds its scope).

        With MLflow's current URIs the files come from ``models:/<name>/<version>``. MLflow
        resolves such a URI against its *global* registry, so with explicit URIs the files come
        from the version's download URI instead (Databricks registries honour explicit URIs).
        The Spark model is read eagerly, so the downloaded files can go afterwards.
        """
        source = f"models:/{self._model_name}/{version}"
        explicit = self._tracking_uri or self._registry_uri
        if explicit and not str(self._registry_uri).startswith("databricks"):
            source = client.get_model_version_download_uri(self._model_name, str(version))
        with tempfile.TemporaryDirectory(prefix="mlflow-model-") as tmp:
            download, load = Path(tmp) / "download", Path(tmp) / "load"
            download.mkdir()
            load.mkdir()
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=source,
                dst_path=str(download),
                tracking_uri=self._tracking_uri,
                registry_uri=self._registry_uri,
            )
            return mlflow.spark.load_model(local, dst_path=str(load)), Model.load(local)

    def _where(self) -> str:
        uri = self._registry_uri or self._tracking_uri or mlflow.get_registry_uri()
        return _without_credentials(uri) or "(default)"


def version_scope(model_uri: str, tags: dict[str, str], logged: Model, model: PipelineModel
                  ) -> tuple[tuple[str, ...] | None, str | None]:
    """The transaction types a version was trained on, and where that was read.

    The version's ``transaction_types`` tag first (the registry's record, which a user may set
    on a version registered before scopes were recorded), then the logged model's metadata.
    A version with neither: the values its ``type`` indexer was fitted on, which are the
    types of its training rows; a model without one has an unknown scope (``None``).
    """
    for source, value in (("version tag", tags.get(SCOPE_KEY)),
                          ("model metadata", (logged.metadata or {}).get(SCOPE_KEY))):
        try:
            scope = parse_scope(value)
        except ValueError as exc:
            raise DatasetError(
                f"{model_uri}: the {source} '{SCOPE_KEY}' is not a scope: {exc}. Set the "
                f"version's tag '{SCOPE_KEY}' to the types it was trained on, e.g. "
                "CASH_OUT,TRANSFER"
            ) from None
        if scope is not None:
            return scope, source
    try:
        scope = parse_scope(_indexed_types(model))
    except ValueError:
        scope = None
    return (scope, "type indexer") if scope is not None else (None, None)


def _indexed_types(model: PipelineModel) -> list[str] | None:
    """The labels of the model's string indexer on ``type``, if it has one."""
    for stage in model.stages:
        if not isinstance(stage, StringIndexerModel):
            continue
        if stage.isSet("inputCols"):
            columns, labels = stage.getInputCols(), stage.labelsArray
        elif stage.isSet("inputCol"):
            columns, labels = [stage.getInputCol()], [stage.labels]
        else:
            continue
        if "type" in columns:
            return list(labels[columns.index("type")])
    return None


def _parse_ref(model_ref: Any) -> str | int:
    """An int >= 1 for a version number (int or digit string), else a valid alias string."""
    if isinstance(model_ref, bool):
        model_ref = None  # True is an int in Python; never a version
    if isinstance(model_ref, int) and model_ref >= 1:
        return model_ref
    if isinstance(model_ref, str):
        text = model_ref.strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
        if _ALIAS.match(text) and not text.isdigit():
            return text
    raise DatasetError(
        f"MlflowModelDataset: 'model_ref' must be an alias (e.g. 'champion', 'challenger') or "
        f"a version number >= 1, got {model_ref!r}"
    )


def _default_registry(tracking_uri: str | None) -> str | None:
    """MLflow's default registry for a tracking URI: the same store; Databricks: Unity Catalog."""
    if tracking_uri and tracking_uri.split(":", 1)[0] == "databricks":
        return tracking_uri.replace("databricks", "databricks-uc", 1)
    return tracking_uri


def _threshold(client: MlflowClient, tags: dict[str, str], run_id: str | None) -> float | None:
    """The decision threshold recorded at training: version tag, else the run's metric."""
    value: Any = tags.get("threshold") or None  # the hook tags "" when it had none
    if value is None and run_id:
        try:
            value = client.get_run(run_id).data.metrics.get("threshold")
        except MlflowException:
            value = None
    try:
        return None if value is None else float(value)
    except ValueError:
        logger.warning("Ignoring threshold %r recorded with the model: not a number", value)
        return None


def _without_credentials(uri: str | None) -> str | None:
    """The URI without user:password@ or a query string (which may hold a token)."""
    if not uri:
        return uri
    parts = urlsplit(uri)
    if "@" not in parts.netloc and not parts.query:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
