"""Project datasets: the raw CSV folder, Spark ML models, registered MLflow models and
(optional) Pachyderm."""

from .raw_csv import RawCsvDataset
from .spark_ml import SparkMLModelDataset

__all__ = [
    "MlflowModelDataset", "PachydermDataset", "RawCsvDataset", "RegisteredModel",
    "SparkMLModelDataset",
]


def __getattr__(name: str):
    # Imported on first use: a base install without the [pachyderm] extra still works, and
    # importing the package does not import MLflow.
    if name in ("MlflowModelDataset", "RegisteredModel"):
        from . import mlflow_model

        return getattr(mlflow_model, name)
    if name == "PachydermDataset":
        from .pachyderm import PachydermDataset

        return PachydermDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
