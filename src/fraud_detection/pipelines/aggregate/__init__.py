"""Spark feature engineering: customer history and balance signals per transaction."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
