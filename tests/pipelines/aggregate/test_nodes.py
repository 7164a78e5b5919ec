"""Feature values on a hand-made customer history, checked exactly."""

from __future__ import annotations

import pytest

from fraud_detection.parameters import AggregateParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.schema import HISTORY_FEATURES, RAW_COLUMNS, TRANSACTION_FEATURES

SCHEMA = ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS.items()) + ", shard int"
ROWS = [
    (1, "PAYMENT", 100.0, "C1", 1000.0, 900.0, "M1", 0.0, 0.0, 0, 0, 3),
    (2, "TRANSFER", 300.0, "C1", 900.0, 600.0, "C9", 0.0, 300.0, 0, 0, 3),
    (5, "CASH_OUT", 600.0, "C1", 600.0, 0.0, "C8", 0.0, 0.0, 1, 0, 3),
    (3, "CASH_IN", 50.0, "C2", 10.0, 60.0, "C7", 100.0, 50.0, 0, 0, 1),
]


@pytest.fixture(scope="module")
def table(spark):
    shards = spark.createDataFrame(ROWS, SCHEMA).repartition(3)  # order must not matter
    result = build_model_input_table(shards, AggregateParams(balance_tolerance=0.01))
    return {(r["nameOrig"], r["step"]): r.asDict() for r in result.collect()}


def test_columns_are_raw_then_features_then_label(spark, table):
    assert list(next(iter(table.values()))) == [
        *RAW_COLUMNS, *TRANSACTION_FEATURES, *HISTORY_FEATURES, "label"
    ]
    assert len(table) == 4


def test_history_uses_only_earlier_transactions(table):
    first, second, third = table[("C1", 1)], table[("C1", 2)], table[("C1", 5)]
    assert (first["custPriorTxnCount"], first["custPriorAmountMean"], first["custPriorAmountMax"],
            first["custStepsSincePrev"], first["amountToCustPriorMean"]) == (0, 0.0, 0.0, -1, -1.0)
    assert (second["custPriorTxnCount"], second["custPriorAmountMean"],
            second["custPriorAmountStd"], second["custStepsSincePrev"],
            second["amountToCustPriorMean"]) == (1, 100.0, 0.0, 1, 3.0)
    assert third["custPriorTxnCount"] == 2
    assert third["custPriorAmountMean"] == 200.0
    assert third["custPriorAmountMax"] == 300.0
    assert third["custPriorAmountStd"] == pytest.approx(141.42135623730951)
    assert third["custPriorTransferShare"] == 0.5
    assert third["custPriorCashOutShare"] == 0.0
    assert third["custStepsSincePrev"] == 3
    assert third["amountToCustPriorMean"] == 3.0
    assert table[("C2", 3)]["custPriorTxnCount"] == 0


def test_balance_features(table):
    fraud, payment, cash_in = table[("C1", 5)], table[("C1", 1)], table[("C2", 3)]
    assert (fraud["errorBalanceOrig"], fraud["errorBalanceDest"], fraud["emptiesOrigin"],
            fraud["destBalancesZero"], fraud["amountToOrigBalance"], fraud["hourOfDay"],
            fraud["label"]) == (0.0, 600.0, 1, 1, 1.0, 5, 1)
    assert (payment["errorBalanceOrig"], payment["errorBalanceDest"], payment["emptiesOrigin"],
            payment["amountToOrigBalance"], payment["label"]) == (0.0, 100.0, 0, 0.1, 0)
    assert table[("C1", 2)]["destBalancesZero"] == 0
    assert (cash_in["errorBalanceOrig"], cash_in["errorBalanceDest"],
            cash_in["amountToOrigBalance"]) == (100.0, 100.0, 5.0)
