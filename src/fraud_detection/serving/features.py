"""The ``aggregate`` pipeline's features of raw rows, computed with numpy/pandas.

Every feature is computed with the same float64 operations in the same order as Spark does
(:mod:`fraud_detection.pipelines.aggregate.nodes`), so the values are equal bit for bit:
running sums for the window means, Spark's own one-pass update for the sample standard
deviation (``CentralMomentAgg``), and the customer order of :data:`CUSTOMER_ORDER`.
``tests/serving/test_feature_parity.py`` compares them column for column with the Spark
``model_input_table``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fraud_detection.schema import CUSTOMER_ORDER, HISTORY_FEATURES

_INT32 = "int32"
Columns = Mapping[str, np.ndarray]  # a column name -> its values (a DataFrame works too)


def transaction_features(rows: Columns, balance_tolerance: float) -> dict[str, np.ndarray]:
    """Balance errors, emptying signals, amount ratio and hour of day of each row alone."""
    amount, old_orig, new_orig, old_dest, new_dest = (
        np.asarray(rows[name], dtype="float64") for name in (
            "amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"))
    step = np.asarray(rows["step"], dtype="int64")
    return {
        "errorBalanceOrig": (new_orig + amount) - old_orig,
        "errorBalanceDest": (old_dest + amount) - new_dest,
        "emptiesOrigin": ((old_orig > balance_tolerance) & (new_orig <= balance_tolerance))
        .astype(_INT32),
        "destBalancesZero": ((old_dest <= balance_tolerance) & (new_dest <= balance_tolerance))
        .astype(_INT32),
        "amountToOrigBalance": amount / np.maximum(old_orig, 1.0),
        "hourOfDay": (step % 24).astype(_INT32),
    }


class _Customer:
    """One customer's running statistics over the rows seen so far, updated as Spark's window
    aggregates are: sums added in order from 0.0, and Spark's ``CentralMomentAgg`` update for
    the sample standard deviation (``delta = x - avg; avg += delta / n;
    m2 += delta * (delta - delta / n)``), so every rounding is Spark's."""

    def __init__(self) -> None:
        self.count, self.total, self.highest = 0, 0.0, 0.0
        self.n, self.avg, self.m2 = 0.0, 0.0, 0.0
        self.transfers, self.cash_outs = 0.0, 0.0
        self.last_step: int | None = None

    def features(self, amount: float, step: int) -> tuple:
        """The history features of the next row: statistics of the rows before it."""
        count = self.count
        if count == 0:
            return 0, 0.0, 0.0, 0.0, 0.0, 0.0, -1, -1.0
        mean = self.total / count
        std = math.sqrt(self.m2 / (self.n - 1.0)) if count >= 2 else 0.0
        return (count, mean, self.highest, std, self.transfers / count, self.cash_outs / count,
                step - self.last_step, amount / mean if mean != 0.0 else -1.0)

    def add(self, amount: float, step: int, kind: str) -> None:
        self.highest = amount if self.count == 0 else max(self.highest, amount)
        self.count += 1
        self.total += amount
        self.transfers += 1.0 if kind == "TRANSFER" else 0.0
        self.cash_outs += 1.0 if kind == "CASH_OUT" else 0.0
        new_n = self.n + 1.0
        delta = amount - self.avg
        delta_n = delta / new_n
        self.avg, self.m2, self.n = self.avg + delta_n, self.m2 + delta * (delta - delta_n), new_n
        self.last_step = step


def history_features(rows: Columns) -> dict[str, np.ndarray]:
    """Statistics of each customer's earlier rows in ``rows`` (ordered as Spark's window is,
    by :data:`CUSTOMER_ORDER`), in the rows' own order.

    Like batch scoring, the history is what the request itself holds: send a customer's
    earlier transactions with the one to score.
    """
    keys = [list(rows[name]) for name in CUSTOMER_ORDER]
    n = len(keys[0])
    order = sorted(range(n), key=lambda i: tuple(key[i] for key in keys))
    customers, steps, amounts = keys[0], keys[1], keys[2]
    kinds = keys[CUSTOMER_ORDER.index("type")]
    values: list[tuple] = [()] * n
    states: dict[str, _Customer] = {}
    for i in order:
        state = states.setdefault(customers[i], _Customer())
        amount, step = float(amounts[i]), int(steps[i])
        values[i] = state.features(amount, step)
        state.add(amount, step, kinds[i])
    kinds_of = ("int64", "float64", "float64", "float64", "float64", "float64", _INT32,
                "float64")
    return {name: np.array([v[k] for v in values], dtype=kind)
            for k, (name, kind) in enumerate(zip(HISTORY_FEATURES, kinds_of))}


def feature_columns(rows: Columns, balance_tolerance: float) -> dict[str, np.ndarray]:
    """Every feature of valid ``rows`` (see :func:`model_input`), as arrays."""
    return {**transaction_features(rows, balance_tolerance), **history_features(rows)}


def model_input(rows: pd.DataFrame, balance_tolerance: float) -> pd.DataFrame:
    """The raw columns of valid ``rows`` and every feature, as ``model_input_table`` has them
    (without ``label``)."""
    return pd.concat([rows, pd.DataFrame(feature_columns(rows, balance_tolerance),
                                         index=rows.index)], axis=1)
