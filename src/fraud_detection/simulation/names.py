"""Account names like PaySim's: 'C' customers and 'M' merchants, followed by up to 10 digits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from fraud_detection.simulation.config import PAYMENT, GenerationParams

_ID_LOW, _ID_HIGH = 10_000_000, 2_147_483_647


def account_names(prefix: str, ids: np.ndarray) -> np.ndarray:
    """PaySim-style account names ('C1231006815') as a numpy object array."""
    return (prefix + pd.Series(ids, dtype=np.int64).astype(str)).to_numpy(dtype=object)


def originator_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 'C' account names: two customers never share a name."""
    return account_names("C", rng.choice(_ID_HIGH - _ID_LOW, size=n, replace=False) + _ID_LOW)


def destination_names(
    rng: np.random.Generator, config: GenerationParams, codes: np.ndarray
) -> np.ndarray:
    """'M' merchants for PAYMENT, 'C' accounts otherwise, drawn from pools with reuse."""
    names = np.empty(codes.size, dtype=object)
    merchant = codes == PAYMENT
    for mask, prefix, per_account in (
        (merchant, "M", config.payments_per_merchant),
        (~merchant, "C", config.transactions_per_destination),
    ):
        n = int(mask.sum())
        if n:
            pool_size = math.ceil(n / per_account)
            pool = account_names(prefix, rng.integers(_ID_LOW, _ID_HIGH, pool_size))
            names[mask] = pool[rng.integers(0, pool.size, n)]
    return names
