"""Model facts every layer agrees on: the loaded registered version, the columns a fitted
pipeline reads, the scores of a model on labelled rows.

A foundation package: scoring nodes, the registered-model dataset, model logging and the
champion comparison all use these, so they live below all of them (libraries only).
"""
