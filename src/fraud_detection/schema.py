"""The PaySim transaction schema: column names, types and allowed values, in file order.

One place that every stage (generator, validation, features, scoring) agrees on.
"""

from __future__ import annotations

# Column -> Spark SQL type, in the order of the Kaggle CSV header.
RAW_COLUMNS: dict[str, str] = {
    "step": "int",
    "type": "string",
    "amount": "double",
    "nameOrig": "string",
    "oldbalanceOrg": "double",
    "newbalanceOrig": "double",
    "nameDest": "string",
    "oldbalanceDest": "double",
    "newbalanceDest": "double",
    "isFraud": "int",
    "isFlaggedFraud": "int",
}

TRANSACTION_TYPES: tuple[str, ...] = ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER")

LABEL = "isFraud"
CUSTOMER = "nameOrig"
# Transaction identifiers: the train/test split hashes them, the model never reads them.
IDENTIFIERS: tuple[str, ...] = (CUSTOMER, "nameDest")

EXPECTED_HEADER = ",".join(RAW_COLUMNS)

# A customer's transactions in order: by step, the trailing columns only break ties within a
# step, so the order (and every history feature) does not depend on how Spark partitioned
# the data. Validation lays the rows out in this order and the history window reads it.
CUSTOMER_ORDER: tuple[str, ...] = (CUSTOMER, "step", "amount", "type", "nameDest", "oldbalanceOrg")

# The features the aggregate stage adds to every row (pipelines.aggregate).
TRANSACTION_FEATURES: tuple[str, ...] = (
    "errorBalanceOrig",
    "errorBalanceDest",
    "emptiesOrigin",
    "destBalancesZero",
    "amountToOrigBalance",
    "hourOfDay",
)
HISTORY_FEATURES: tuple[str, ...] = (
    "custPriorTxnCount",
    "custPriorAmountMean",
    "custPriorAmountMax",
    "custPriorAmountStd",
    "custPriorTransferShare",
    "custPriorCashOutShare",
    "custStepsSincePrev",
    "amountToCustPriorMean",
)
