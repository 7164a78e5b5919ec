"""The registered model version a scoring run loaded, and the facts a prediction is stamped with.

``datasets.mlflow_model.MlflowModelDataset`` builds it; the scoring nodes and the MLflow hook
read it. It is plain data, so it lives below both.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import PipelineModel


@dataclass(frozen=True)
class RegisteredModel:
    """A loaded model version and the facts a prediction is stamped with.

    ``alias`` is the alias it was loaded by (``None`` when loaded by version number);
    ``coordinate`` and ``run_id`` come from the version's tags (``run_id`` falls back to the
    version's source run); ``threshold`` is the decision threshold recorded at training
    (version tag ``threshold``, else the training run's metric ``threshold``), if any.
    ``transaction_types`` is the version's scope, the types it was trained on (see
    ``datasets.mlflow_model.version_scope``); ``None`` when unknown, and then every row is
    scored. ``scope_source`` says where the scope was read.
    """

    model: PipelineModel
    name: str
    version: int
    alias: str | None
    coordinate: str | None
    run_id: str | None
    source_uri: str
    threshold: float | None = None
    transaction_types: tuple[str, ...] | None = None
    scope_source: str | None = None
