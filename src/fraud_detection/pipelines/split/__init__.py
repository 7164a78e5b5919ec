"""Validate raw transactions and split them into customer shards."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
