"""Batch scoring of new transactions with a registered model version (default: the champion)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
