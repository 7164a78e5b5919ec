"""Benchmarks of the training pipeline at PaySim scale (``make bench``); never part of the tests."""
