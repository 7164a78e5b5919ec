"""The whole simulation, in the fixed order of its random draws.

Every draw comes from one ``numpy.random.Generator`` seeded from the parameters, in the
order of the calls below, so a seed always gives the same frame (a test compares the
bytes of the CSV with recorded digests): reordering, adding or removing a draw changes
the data. The rows are built grouped by customer and sorted by time only at the end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud_detection.simulation.amounts import transaction_amounts
from fraud_detection.simulation.balances import (
    choose_closers,
    destination_balances,
    origin_balances,
)
from fraud_detection.simulation.config import TRANSFER, GenerationParams
from fraud_detection.simulation.customers import (
    Customers,
    make_customers,
    transaction_times,
    transaction_types,
)
from fraud_detection.simulation.frame import to_paysim_frame
from fraud_detection.simulation.fraud import (
    choose_victims,
    flagged,
    fraud_destination_balances,
    mule_rows,
)
from fraud_detection.simulation.names import destination_names, originator_names


def simulate_transactions(config: GenerationParams) -> pd.DataFrame:
    """Exactly ``config.n_rows`` PaySim transactions, sorted by step, with customer histories."""
    rng = np.random.default_rng(config.seed)
    n_frauds = round(config.fraud_rate * config.n_rows / 2)  # each: TRANSFER + CASH_OUT

    customers = make_customers(rng, config, config.n_rows - n_frauds)
    names = originator_names(rng, customers.counts.size + n_frauds)
    mule_names = names[customers.counts.size:]
    history, transfers = customer_rows(rng, config, customers, names, mule_names)
    cash_outs = mule_rows(rng, config, transfers, mule_names)
    rows = {name: np.concatenate([history[name], cash_outs[name]]) for name in history}
    rows["isFlaggedFraud"] = flagged(rng, config, rows)
    return to_paysim_frame(rows)


def customer_rows(
    rng: np.random.Generator,
    config: GenerationParams,
    customers: Customers,
    names: np.ndarray,
    mule_names: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every customer's history; each victim's last row is a TRANSFER of all to a mule.

    Columns are numpy arrays (money in cents, type as codes, ``step`` as continuous time).
    Also returns the fraudulent TRANSFER rows alone, in the order of ``mule_names``.
    """
    owner = customers.row_owner()
    times = transaction_times(rng, owner, config.n_steps, config.night_activity)
    codes = transaction_types(rng, customers, owner)
    amount = transaction_amounts(rng, config, customers, owner, codes)
    victims = choose_victims(rng, customers, mule_names.size)
    customers.tracked[victims] = True  # a drained balance must be visible (only in tiny data)
    codes[customers.lasts[victims]] = TRANSFER
    closers = choose_closers(rng, config, customers, codes, victims)
    origin = origin_balances(rng, config, customers, owner, codes, amount, victims, closers)
    dest_old, dest_new = destination_balances(rng, config, codes, origin.amount)
    dest_names = destination_names(rng, config, codes)

    fraud_rows = customers.lasts[victims]
    dest_names[fraud_rows] = mule_names
    dest_old[fraud_rows], dest_new[fraud_rows] = fraud_destination_balances(
        rng, config, origin.amount[fraud_rows], zero_start=True
    )
    is_fraud = np.zeros(owner.size, dtype=bool)
    is_fraud[fraud_rows] = True
    rows = {
        "step": times, "type": codes, "amount": origin.amount, "nameOrig": names[owner],
        "oldbalanceOrg": origin.old, "newbalanceOrig": origin.new, "nameDest": dest_names,
        "oldbalanceDest": dest_old, "newbalanceDest": dest_new, "isFraud": is_fraud,
    }
    return rows, {name: values[fraud_rows] for name, values in rows.items()}
