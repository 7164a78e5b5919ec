"""The Python features equal the Spark ``model_input_table``, column for column, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.schema import HISTORY_FEATURES, TRANSACTION_FEATURES
from fraud_detection.serving.features import model_input
from tests.serving.conftest import BALANCE_TOLERANCE, raw_pandas

pytestmark = pytest.mark.integration
KEY = ["nameOrig", "step", "amount", "type", "nameDest", "oldbalanceOrg"]


def test_python_features_equal_the_spark_model_input_table(e2e_raw, e2e_table):
    _, rows = e2e_raw
    spark_table = e2e_table.toPandas().sort_values(KEY, kind="stable").reset_index(drop=True)
    python = model_input(raw_pandas(rows), BALANCE_TOLERANCE)
    python = python.sort_values(KEY, kind="stable").reset_index(drop=True)
    assert len(python) == len(spark_table) == len(rows)
    assert (python["custPriorTxnCount"] > 1).sum() > 1000  # histories, not first rows only
    for name in (*TRANSACTION_FEATURES, *HISTORY_FEATURES):
        expected, got = spark_table[name].to_numpy(), python[name].to_numpy()
        assert got.dtype.kind == expected.dtype.kind, name
        different = np.flatnonzero(expected != got)
        assert different.size == 0, (
            f"{name}: {different.size} rows differ, e.g. spark {expected[different[:3]]!r} "
            f"python {got[different[:3]]!r}")


def test_history_comes_from_earlier_rows_of_the_same_customer_in_the_request():
    rows = pd.DataFrame({
        "step": [3, 1, 2, 1], "type": ["CASH_OUT", "TRANSFER", "PAYMENT", "TRANSFER"],
        "amount": [30.0, 10.0, 20.0, 5.0], "nameOrig": ["C1", "C1", "C1", "C2"],
        "oldbalanceOrg": [0.0] * 4, "newbalanceOrig": [0.0] * 4, "nameDest": ["M", "C", "M", "C"],
        "oldbalanceDest": [0.0] * 4, "newbalanceDest": [0.0] * 4, "isFlaggedFraud": [0] * 4,
    })
    features = model_input(rows, 0.01)
    assert features["custPriorTxnCount"].tolist() == [2, 0, 1, 0]
    assert features["custPriorAmountMean"].tolist() == [15.0, 0.0, 10.0, 0.0]
    assert features["custStepsSincePrev"].tolist() == [1, -1, 1, -1]
    assert features["custPriorTransferShare"].tolist() == [0.5, 0.0, 1.0, 0.0]
    assert features["amountToCustPriorMean"].tolist() == [2.0, -1.0, 2.0, -1.0]
