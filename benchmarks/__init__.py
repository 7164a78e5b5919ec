"""Benchmarks of the training pipeline at PaySim scale (``make bench``); never part of the tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
