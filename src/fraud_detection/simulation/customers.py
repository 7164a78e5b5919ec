"""Who transacts and when: customers with histories, each row's time and type.

A customer's rows are consecutive (``starts[i] : starts[i] + counts[i]``), which makes
the balance arithmetic of :mod:`.balances` segmented cumulative sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_detection.simulation.config import TYPES, GenerationParams

# PaySim steps are hours.
_HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Customers:
    """Per-customer attributes; a customer's rows are ``starts[i] : starts[i] + counts[i]``."""

    counts: np.ndarray  # transactions per customer, >= 1
    starts: np.ndarray  # index of each customer's first row
    tracked: np.ndarray  # False: the bank reports 0.0 balances for this originator (PaySim quirk)
    amount_level: np.ndarray  # log-scale multiplier of the customer's usual amounts
    type_cdf: np.ndarray  # (customers, types) cumulative type probabilities

    @property
    def lasts(self) -> np.ndarray:
        """Index of each customer's last row."""
        return self.starts + self.counts - 1

    def row_owner(self) -> np.ndarray:
        """Customer index of every row (rows are grouped by customer)."""
        return np.repeat(np.arange(self.counts.size, dtype=np.int64), self.counts)


def transaction_counts(rng: np.random.Generator, n_rows: int, mean: float) -> np.ndarray:
    """Geometric transactions per customer (>= 1) that add up to exactly ``n_rows``.

    Draws in batches until the total is reached and shortens the last customer, so the
    row count is exact while the distribution stays geometric.
    """
    batch = max(16, int(n_rows / mean * 1.1) + 16)
    counts = rng.geometric(1.0 / mean, size=batch)
    while counts.sum() < n_rows:
        counts = np.concatenate([counts, rng.geometric(1.0 / mean, size=batch)])
    totals = np.cumsum(counts)
    n_customers = int(np.searchsorted(totals, n_rows)) + 1
    counts = counts[:n_customers].copy()
    counts[-1] -= totals[n_customers - 1] - n_rows
    return counts.astype(np.int64)


def make_customers(rng: np.random.Generator, config: GenerationParams, n_rows: int) -> Customers:
    """Customers with their own amount level and type mix, so history features mean something.

    The type mix is a Dirichlet draw around the global mix (lower concentration = more
    specialised customers); its mean is the global mix, so the overall proportions hold.
    """
    counts = transaction_counts(rng, n_rows, config.mean_transactions_per_customer)
    n = counts.size
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    tracked = rng.random(n) >= config.untracked_balance_rate
    level = rng.normal(0.0, config.customer_amount_sigma, size=n)
    alpha = config.type_concentration * config.type_probabilities()
    mix = rng.dirichlet(np.maximum(alpha, 1e-6), size=n)
    return Customers(counts, starts, tracked, level, np.cumsum(mix, axis=1))


def step_weights(n_steps: int, night_activity: float) -> np.ndarray:
    """Relative activity of each step: PaySim steps are hours, quiet at night (hours 0-7)."""
    hour = np.arange(n_steps) % _HOURS_PER_DAY
    daytime = np.clip(np.sin(np.pi * (hour - 7) / 17.0), 0.0, None)
    weights = night_activity + (1.0 - night_activity) * daytime
    weights = np.maximum(weights, 1e-3)
    return weights / weights.sum()


def transaction_times(
    rng: np.random.Generator, owner: np.ndarray, n_steps: int, night_activity: float
) -> np.ndarray:
    """Continuous times in [0, n_steps), increasing within each customer's history.

    step = floor(time) + 1. A continuous time keeps a customer's rows in order even when
    several fall in the same step, and sorting by it at the end sorts the file by step.
    """
    cdf = np.cumsum(step_weights(n_steps, night_activity))
    step = np.minimum(np.searchsorted(cdf, rng.random(owner.size) * cdf[-1], side="right"),
                      n_steps - 1)
    times = step + rng.random(owner.size)
    # One sort on (customer, time): owner is already sorted, so the groups stay in place.
    order = np.argsort(owner * float(n_steps) + times, kind="stable")
    return times[order]


def transaction_types(
    rng: np.random.Generator, customers: Customers, owner: np.ndarray
) -> np.ndarray:
    """Each row's type code, drawn from its customer's own mix (one pass per type)."""
    u = rng.random(owner.size)
    codes = np.zeros(owner.size, dtype=np.int8)
    for k in range(len(TYPES) - 1):
        codes += u >= customers.type_cdf[owner, k]
    return codes
