"""Balances before and after each row: the origin's along its history, and the destination's.

The origin balance evolves without a loop (segmented cumulative sums over each customer's
consecutive rows) and never goes negative. PaySim's bookkeeping quirks are added on top:
untracked customers report 0.0, some rows are not booked yet, and some honest customers
empty their account on their last withdrawal, so emptying one is not a fraud signal alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_detection.simulation.amounts import to_cents
from fraud_detection.simulation.config import (
    CASH_IN,
    CASH_OUT,
    PAYMENT,
    TRANSFER,
    GenerationParams,
)
from fraud_detection.simulation.customers import Customers


@dataclass(frozen=True)
class OriginBalances:
    """Per-row origin balances in cents, and the (possibly replaced) amounts."""

    amount: np.ndarray
    old: np.ndarray
    new: np.ndarray


def choose_closers(
    rng: np.random.Generator,
    config: GenerationParams,
    customers: Customers,
    codes: np.ndarray,
    victims: np.ndarray,
) -> np.ndarray:
    """Genuine customers whose last TRANSFER/CASH_OUT withdraws their whole balance.

    They make "emptied the account" a property of some honest rows too, as in real data,
    so fraud is not recognisable from the origin balances alone.
    """
    last_type = codes[customers.lasts]
    eligible = customers.tracked & ((last_type == TRANSFER) | (last_type == CASH_OUT))
    eligible[victims] = False
    return np.flatnonzero(eligible & (rng.random(eligible.size) < config.account_closing_rate))


def origin_balances(
    rng: np.random.Generator,
    config: GenerationParams,
    customers: Customers,
    owner: np.ndarray,
    codes: np.ndarray,
    amount: np.ndarray,
    victims: np.ndarray,
    closers: np.ndarray,
) -> OriginBalances:
    """Balances that evolve along each customer's history, without a loop.

    Each row moves the balance by -amount (CASH_IN: +amount); a segmented cumulative sum
    gives the balance before every row relative to the opening balance. The opening balance
    is the deepest drawdown plus a cushion of a few usual amounts, so no balance goes
    negative. The last row of victims and closers is an emptying withdrawal: its amount is
    set to the balance it finds. For victims the cushion is chosen so that balance is several
    times their usual amount (capped like PaySim at ``fraud_max_amount``).
    """
    lasts = customers.lasts
    drains = np.concatenate([victims, closers])
    delta = np.where(codes == CASH_IN, amount, -amount)
    delta[lasts[drains]] = 0  # decided below, from the balance the row finds
    running = _segmented_cumsum(delta, customers.starts, customers.counts)
    drawdown = np.maximum(0, -np.minimum.reduceat(running, customers.starts))
    opening = drawdown + _cushions(rng, config, customers, owner, amount, victims,
                                   drawdown + running[lasts])

    old = opening[owner] + running - delta
    drain_rows = lasts[drains]
    amount = amount.copy()
    amount[drain_rows] = np.clip(old[drain_rows], 1, round(config.max_amount * 100))
    old[drain_rows] = amount[drain_rows]
    new = old + delta
    new[drain_rows] = 0

    ordinary = np.ones(owner.size, dtype=bool)
    ordinary[drain_rows] = False
    stale = ordinary & (rng.random(owner.size) < config.stale_balance_rate)
    new[stale] = old[stale]  # the bank has not booked the movement yet
    untracked = ~customers.tracked[owner]
    old[untracked] = 0
    new[untracked] = 0
    return OriginBalances(amount, old, new)


def _cushions(
    rng: np.random.Generator,
    config: GenerationParams,
    customers: Customers,
    owner: np.ndarray,
    amount: np.ndarray,
    victims: np.ndarray,
    before_last: np.ndarray,
) -> np.ndarray:
    """Each customer's spare balance above the drawdown, in whole cents.

    A few usual amounts (``balance_to_amount_ratio``); for a victim, what makes the balance
    its last row finds (``before_last`` without a cushion) the intended stolen amount.
    """
    usual = np.bincount(owner, weights=amount) / customers.counts  # mean amount, cents
    cushion = np.maximum(
        usual * rng.lognormal(np.log(config.balance_to_amount_ratio), 1.0, usual.size), 100
    )
    target = np.minimum(
        usual[victims] * config.fraud_amount_multiplier * rng.lognormal(0.0, 0.5, victims.size),
        config.fraud_max_amount * 100,
    )
    cushion[victims] = np.maximum(target - before_last[victims], 100)
    return np.rint(cushion).astype(np.int64)


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at every customer's first row."""
    total = np.cumsum(values)
    before = total[starts] - values[starts]
    return total - np.repeat(before, counts)


def destination_balances(
    rng: np.random.Generator, config: GenerationParams, codes: np.ndarray, amount: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Destination balances in cents for genuine rows, with PaySim-like bookkeeping noise.

    Merchants (PAYMENT) report no balances. A CASH_IN is paid out by the destination, so
    its balance falls; other types credit it. Some destinations are new accounts (old 0),
    some rows were not booked yet (new = old), a very few report zeros on both sides.
    """
    n = codes.size
    held = to_cents(
        rng.lognormal(np.log(config.destination_balance_median), 1.5, n), config.max_amount * 10
    )
    is_new = rng.random(n) < config.new_destination_rate
    cash_in = codes == CASH_IN
    old = np.where(cash_in, held + amount, np.where(is_new, 0, held))
    new = np.where(cash_in, old - amount, old + amount)
    stale = (old > 0) & (rng.random(n) < config.destination_error_rate)
    new[stale] = old[stale]
    zero = (codes == PAYMENT) | (rng.random(n) < config.genuine_zero_destination_rate)
    old[zero] = 0
    new[zero] = 0
    return old, new
