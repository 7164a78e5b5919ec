"""Spark MLlib training and honest evaluation of the fraud model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
