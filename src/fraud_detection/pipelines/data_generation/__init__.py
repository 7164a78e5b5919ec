"""Generate synthetic PaySim-format transactions with customer histories."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
