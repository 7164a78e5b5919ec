"""The ``aggregate`` pipeline's features of raw rows, computed with numpy/pandas.

Every feature is computed with the same float64 operations in the same order as Spark does
(:mod:`fraud_detection.pipelines.aggregate.nodes`), so the values are equal bit for bit:
running sums for the window means, Spark's own one-pass update for the sample standard
deviation (``CentralMomentAgg``), and the customer order of :data:`CUSTOMER_ORDER`.
``tests/serving/test_parity.py`` compares them column for column with the Spark
``model_input_table``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fraud_detection.schema import CUSTOMER, CUSTOMER_ORDER, HISTORY_FEATURES

_INT32 = "int32"


def transaction_features(rows: pd.DataFrame, balance_tolerance: float) -> pd.DataFrame:
    """Balance errors, emptying signals, amount ratio and hour of day of each row alone."""
    amount = rows["amount"].to_numpy("float64")
    old_orig, new_orig = rows["oldbalanceOrg"].to_numpy("float64"), rows[
        "newbalanceOrig"].to_numpy("float64")
    old_dest, new_dest = rows["oldbalanceDest"].to_numpy("float64"), rows[
        "newbalanceDest"].to_numpy("float64")
    step = rows["step"].to_numpy("int64")
    return pd.DataFrame({
        "errorBalanceOrig": (new_orig + amount) - old_orig,
        "errorBalanceDest": (old_dest + amount) - new_dest,
        "emptiesOrigin": ((old_orig > balance_tolerance) & (new_orig <= balance_tolerance))
        .astype(_INT32),
        "destBalancesZero": ((old_dest <= balance_tolerance) & (new_dest <= balance_tolerance))
        .astype(_INT32),
        "amountToOrigBalance": amount / np.maximum(old_orig, 1.0),
        "hourOfDay": (step % 24).astype(_INT32),
    }, index=rows.index)


def _std_samp(amounts: np.ndarray) -> np.ndarray:
    """Sample standard deviation of each row's earlier amounts, 0.0 below two.

    Spark's ``CentralMomentAgg`` update, step by step, so the rounding is Spark's:
    ``delta = x - avg; avg += delta / n; m2 += delta * (delta - delta / n)``.
    """
    out = np.zeros(len(amounts))
    n = avg = m2 = 0.0
    for i, value in enumerate(amounts):
        out[i] = math.sqrt(m2 / (n - 1.0)) if n >= 2 else 0.0
        new_n = n + 1.0
        delta = value - avg
        delta_n = delta / new_n
        avg, m2, n = avg + delta_n, m2 + delta * (delta - delta_n), new_n
    return out


def _customer_history(group: pd.DataFrame) -> dict[str, np.ndarray]:
    """The history features of one customer's rows, already in customer order."""
    amount = group["amount"].to_numpy("float64")
    kinds = group["type"].to_numpy(object)
    count = np.arange(len(group), dtype="int64")
    total = np.concatenate([[0.0], np.cumsum(amount)[:-1]])  # sequential, as Spark's sum
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
        ratio = np.where((count > 0) & (mean != 0.0), amount / mean, -1.0)

    def share(kind: str) -> np.ndarray:
        hits = np.concatenate([[0.0], np.cumsum(kinds == kind, dtype="float64")[:-1]])
        return np.where(count > 0, hits / np.maximum(count, 1), 0.0)

    steps = group["step"].to_numpy("int64")
    since = np.concatenate([[-1], np.diff(steps)]) if len(steps) else steps
    return {
        "custPriorTxnCount": count,
        "custPriorAmountMean": np.where(count > 0, mean, 0.0),
        "custPriorAmountMax": np.concatenate([[0.0], np.maximum.accumulate(amount)[:-1]]),
        "custPriorAmountStd": _std_samp(amount),
        "custPriorTransferShare": share("TRANSFER"),
        "custPriorCashOutShare": share("CASH_OUT"),
        "custStepsSincePrev": since.astype(_INT32),
        "amountToCustPriorMean": ratio,
    }


def history_features(rows: pd.DataFrame) -> pd.DataFrame:
    """Statistics of each customer's earlier rows in ``rows`` (ordered as Spark's window is,
    by :data:`CUSTOMER_ORDER`), in the rows' own order.

    Like batch scoring, the history is what the request itself holds: send a customer's
    earlier transactions with the one to score.
    """
    ordered = rows.sort_values(list(CUSTOMER_ORDER), kind="stable")
    parts = []
    for _, group in ordered.groupby(CUSTOMER, sort=False):
        parts.append(pd.DataFrame(_customer_history(group), index=group.index))
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype="float64") for name in HISTORY_FEATURES})
    return pd.concat(parts).loc[rows.index, list(HISTORY_FEATURES)]


def model_input(rows: pd.DataFrame, balance_tolerance: float) -> pd.DataFrame:
    """The raw columns of valid ``rows`` and every feature, as ``model_input_table`` has them
    (without ``label``)."""
    return pd.concat([rows, transaction_features(rows, balance_tolerance),
                      history_features(rows)], axis=1)
