"""How much: amounts around each type's median, at each customer's own level, in cents.

Money is handled in integer cents throughout the simulation, so that
``newbalanceOrig = oldbalanceOrg - amount`` holds exactly where the data says it does.
"""

from __future__ import annotations

import numpy as np

from fraud_detection.simulation.config import GenerationParams
from fraud_detection.simulation.customers import Customers


def transaction_amounts(
    rng: np.random.Generator,
    config: GenerationParams,
    customers: Customers,
    owner: np.ndarray,
    codes: np.ndarray,
) -> np.ndarray:
    """Amounts in cents: log-normal around the type's median, scaled by the customer's level.

    Type medians follow PaySim (TRANSFER large, PAYMENT and DEBIT small); the customer level
    is shared by all of a customer's rows, so a customer's usual amount is predictable.
    """
    log_amount = (
        np.log(config.type_medians())[codes]
        + customers.amount_level[owner]
        + rng.normal(0.0, config.transaction_amount_sigma, size=owner.size)
    )
    return to_cents(np.exp(log_amount), config.max_amount)


def to_cents(values: np.ndarray, cap: float) -> np.ndarray:
    """Money in integer cents, at least one cent and at most ``cap``."""
    return np.clip(np.rint(values * 100.0), 1, round(cap * 100)).astype(np.int64)
