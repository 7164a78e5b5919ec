"""PaySim's fraud: a victim's TRANSFER of the whole balance to a mule, then the mule's CASH_OUT.

The victim's fraudulent transfer is the last row of its history (see
:func:`fraud_detection.simulation.transactions.customer_rows`); the mules' cash-outs are
rows of their own, soon after. ``isFlaggedFraud`` follows PaySim's rule.
"""

from __future__ import annotations

import numpy as np

from fraud_detection.simulation.amounts import to_cents
from fraud_detection.simulation.config import CASH_OUT, TRANSFER, GenerationParams
from fraud_detection.simulation.customers import Customers
from fraud_detection.simulation.names import destination_names


def choose_victims(
    rng: np.random.Generator, customers: Customers, n_frauds: int
) -> np.ndarray:
    """Customer indices of fraud victims; the fraud is their last transaction.

    Victims are preferably tracked customers with a history (two or more rows), so their
    fraudulent transfer can be compared with their usual amounts; smaller data sets fall
    back to other customers rather than failing.
    """
    if n_frauds > customers.counts.size:
        raise ValueError(
            f"data_generation.fraud_rate is too high for n_rows: {n_frauds} frauds need as "
            f"many customers, only {customers.counts.size} exist"
        )
    priority = (
        rng.random(customers.counts.size)
        + 2.0 * (customers.counts < 2)
        + 4.0 * ~customers.tracked
    )
    return np.sort(np.argsort(priority, kind="stable")[:n_frauds])


def fraud_destination_balances(
    rng: np.random.Generator, config: GenerationParams, amount: np.ndarray, zero_start: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Destination balances of fraud rows; about half report zeros before and after (PaySim).

    A mule account starts empty (``zero_start``); a cash-out agent holds some cash.
    """
    n = amount.size
    old = np.zeros(n, dtype=np.int64) if zero_start else to_cents(
        rng.lognormal(np.log(config.destination_balance_median), 1.5, n), config.max_amount * 10
    )
    new = old + amount
    zero = rng.random(n) < config.fraud_zero_destination_rate
    old[zero] = 0
    new[zero] = 0
    return old, new


def mule_rows(
    rng: np.random.Generator,
    config: GenerationParams,
    transfers: dict[str, np.ndarray],
    mule_names: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each mule cashes out the whole transfer it received, soon after (PaySim's fraud pair).

    ``transfers`` are the fraudulent TRANSFER rows, in the order of ``mule_names``.
    """
    n = mule_names.size
    stolen = transfers["amount"]
    dest_old, dest_new = fraud_destination_balances(rng, config, stolen, zero_start=False)
    delay = rng.exponential(config.fraud_cash_out_lag, n)
    codes = np.full(n, CASH_OUT, dtype=np.int8)
    return {
        "step": np.minimum(transfers["step"] + delay, np.nextafter(float(config.n_steps), 0.0)),
        "type": codes, "amount": stolen, "nameOrig": mule_names,
        "oldbalanceOrg": stolen, "newbalanceOrig": np.zeros(n, dtype=np.int64),
        "nameDest": destination_names(rng, config, codes),
        "oldbalanceDest": dest_old, "newbalanceDest": dest_new,
        "isFraud": np.ones(n, dtype=bool),
    }


def flagged(
    rng: np.random.Generator, config: GenerationParams, rows: dict[str, np.ndarray]
) -> np.ndarray:
    """PaySim's isFlaggedFraud: only fraudulent TRANSFERs above the threshold, and rarely."""
    eligible = (
        rows["isFraud"]
        & (rows["type"] == TRANSFER)
        & (rows["amount"] > config.flag_amount_threshold * 100)
    )
    return eligible & (rng.random(eligible.size) < config.flag_rate)
