"""Project datasets: the raw CSV folder, Spark ML models and (optional) Pachyderm."""

from .raw_csv import RawCsvDataset
from .spark_ml import SparkMLModelDataset

__all__ = ["PachydermDataset", "RawCsvDataset", "SparkMLModelDataset"]


def __getattr__(name: str):
    # Imported on first use, so a base install without the [pachyderm] extra still works.
    if name == "PachydermDataset":
        from .pachyderm import PachydermDataset

        return PachydermDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
