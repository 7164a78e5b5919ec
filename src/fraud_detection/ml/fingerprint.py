"""The test rows' fingerprint: which rows, scored by which code, the metrics were measured on.

Two evaluations with the same fingerprint score a given model identically: the same rows
(in any order or partitioning) and the same scoring code and libraries. The training run
tags each registered version with it, so a later run on rows of the same fingerprint can
take the champion's recorded score instead of re-scoring it
(:mod:`fraud_detection.tracking.champion`).

The rows' part is the row count and the exact sum of a 64-bit hash of every row (its values
in column-name order and which of them are null), plus the column names and types: a changed
value, null, column, type or row count changes it. The hashes are summed in the pass that
scores the rows, so the fingerprint costs no extra reading of the rows.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable

import pyspark
import sklearn
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def row_hash(rows: DataFrame) -> Column:
    """A 64-bit hash of each row's values and nulls, as an exact decimal (sums cannot
    overflow)."""
    names = sorted(rows.columns)
    nulls = [F.isnull(name) for name in names]  # the hash skips null values: mark them
    return F.xxhash64(*names, *nulls).cast("decimal(20,0)")


def fingerprint(rows: DataFrame, count: int, hash_sums: Iterable, scoring: Iterable[Callable]
                ) -> str:
    """SHA-256 of the rows' schema, count and hash sum, and of the ``scoring`` functions'
    source and the pyspark and scikit-learn versions."""
    schema = sorted((field.name, field.dataType.simpleString()) for field in rows.schema)
    total = sum(int(value) for value in hash_sums if value is not None)
    source = "".join(inspect.getsource(function) for function in scoring)
    text = (f"{schema}\n{count}:{total}\n{source}\n"
            f"pyspark {pyspark.__version__}\nscikit-learn {sklearn.__version__}")
    return hashlib.sha256(text.encode()).hexdigest()
