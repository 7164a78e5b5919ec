"""Fraud detection on PaySim-format transactions: Kedro, Spark MLlib, MLflow, Pachyderm."""

__version__ = "0.1.0"
