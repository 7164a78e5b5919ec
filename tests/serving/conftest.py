"""The end-to-end test data (the generator's rows, as many as ``tests/test_end_to_end.py``
trains on), its Spark ``model_input_table`` and a model fitted on it with conf/base's tree."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql import functions as F

from fraud_detection.parameters import AggregateParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.pipelines.train.nodes import fit_model, split_train_test
from fraud_detection.schema import RAW_COLUMNS
from tests.registry import generated_transactions, train_params

N_ROWS = 20_000  # tests/test_end_to_end.py's
BALANCE_TOLERANCE = 0.01  # conf/base/parameters_aggregate.yml


@pytest.fixture(scope="session")
def e2e_raw(spark):
    """The raw rows as Spark types (validation's output) in a Spark and a pandas frame."""
    frame = generated_transactions(spark, N_ROWS, seed=7).cache()
    return frame, frame.toPandas()


@pytest.fixture(scope="session")
def e2e_table(e2e_raw):
    """The Spark model input table of the raw rows, collected."""
    frame, _ = e2e_raw
    table = build_model_input_table(frame, AggregateParams(balance_tolerance=BALANCE_TOLERANCE))
    return table.cache()


@pytest.fixture(scope="session")
def e2e_model(e2e_table):
    """A model fitted on the table with conf/base's training parameters (depth 8)."""
    params = train_params(model=dict(train_params().model.model_dump(), max_depth=8,
                                     max_bins=64))
    train, _ = split_train_test(e2e_table, params)
    return fit_model(train, params)


@pytest.fixture(scope="session")
def noisy_model(e2e_table):
    """A deep tree on the same table with a label no feature explains (a seeded hash of the
    row): hundreds of continuous and categorical splits at arbitrary doubles, which a
    rounding or a ``<`` for ``<=`` anywhere would send a row the wrong way."""
    params = train_params(model=dict(train_params().model.model_dump(), max_depth=10,
                                     max_bins=64, min_instances_per_node=1))
    noisy = e2e_table.withColumn(
        "label", (F.pmod(F.xxhash64("nameOrig", "step", "amount"), F.lit(3)) == 0).cast("int"))
    train, _ = split_train_test(noisy, params)
    return fit_model(train, params)


def raw_pandas(rows: pd.DataFrame) -> pd.DataFrame:
    """Only the PaySim columns, as a request carries them."""
    return rows[[name for name in RAW_COLUMNS if name in rows.columns]].copy()
