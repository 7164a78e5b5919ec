"""Project datasets: the raw CSV folder, Spark ML models and (optional) Pachyderm."""

from .raw_csv import RawCsvDataset
from .spark_ml import SparkMLModelDataset

__all__ = ["RawCsvDataset", "SparkMLModelDataset"]
