"""Synthetic PaySim-format transactions, with customer histories.

The Kaggle PaySim file has the right schema and statistics but every originator appears
about once, so per-customer features carry no signal. This generator keeps PaySim's
marginals (type mix, amounts, fraud rate and fraud mechanics, balance quirks) and adds
histories: each customer makes several transactions over increasing steps, at their own
amount level and type mix, and their balance evolves from one transaction to the next.

Everything is vectorised with numpy (no Python loop per row or per customer) and every
random draw comes from one ``numpy.random.Generator`` seeded from the parameters, in a
fixed order, so a seed always gives the same frame. Money is handled in integer cents so
that ``newbalanceOrig = oldbalanceOrg - amount`` holds exactly where the data says it does.

The rows are built grouped by customer (which makes the balance arithmetic segmented
cumulative sums) and sorted by time only at the end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from fraud_detection.schema import RAW_COLUMNS

# Transaction types, as integer codes in this module; the order is the PaySim frequency order.
TYPES: tuple[str, ...] = ("CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT")
CASH_OUT, PAYMENT, CASH_IN, TRANSFER, DEBIT = range(len(TYPES))

# Account numbers look like PaySim's: 'C' or 'M' followed by up to 10 digits.
_ID_LOW, _ID_HIGH = 10_000_000, 2_147_483_647

# PaySim steps are hours.
_HOURS_PER_DAY = 24

# PaySim's type proportions (Kaggle file: 2,237,500 CASH_OUT ... 41,432 DEBIT of 6,362,620).
PAYSIM_TYPE_MIX: dict[str, float] = {
    "CASH_OUT": 0.3517, "PAYMENT": 0.3381, "CASH_IN": 0.2199, "TRANSFER": 0.0838, "DEBIT": 0.0065,
}
# Median amount per type; with the default spreads they give PaySim's overall median (~75k)
# and mean (~180k) and per-type means close to PaySim's (TRANSFER ~900k, PAYMENT ~13k).
MEDIAN_AMOUNT_BY_TYPE: dict[str, float] = {
    "CASH_OUT": 125_000.0, "PAYMENT": 9_500.0, "CASH_IN": 121_000.0,
    "TRANSFER": 600_000.0, "DEBIT": 3_000.0,
}


@dataclass(frozen=True)
class GenerationConfig:
    """Validated ``data_generation`` parameters (see conf/base/parameters_data_generation.yml).

    Checked on construction, so a bad value fails with its name before any work is done.
    Only ``n_rows`` and ``seed`` are required; every other knob defaults to the value that
    reproduces PaySim, so callers (tests, notebooks) can pass just the size and the seed.
    """

    n_rows: int
    seed: int
    n_steps: int = 743
    night_activity: float = 0.2
    mean_transactions_per_customer: float = 5.0
    type_mix: Mapping[str, float] = field(default_factory=lambda: dict(PAYSIM_TYPE_MIX))
    type_concentration: float = 5.0
    median_amount_by_type: Mapping[str, float] = field(
        default_factory=lambda: dict(MEDIAN_AMOUNT_BY_TYPE)
    )
    customer_amount_sigma: float = 0.6
    transaction_amount_sigma: float = 0.6
    max_amount: float = 92_445_516.15
    balance_to_amount_ratio: float = 3.0
    untracked_balance_rate: float = 0.35
    stale_balance_rate: float = 0.05
    account_closing_rate: float = 0.01
    transactions_per_destination: float = 7.0
    payments_per_merchant: float = 1.5
    destination_balance_median: float = 130_000.0
    new_destination_rate: float = 0.3
    destination_error_rate: float = 0.2
    genuine_zero_destination_rate: float = 0.001
    fraud_rate: float = 0.00129
    fraud_amount_multiplier: float = 6.0
    fraud_max_amount: float = 10_000_000.0
    fraud_zero_destination_rate: float = 0.5
    fraud_cash_out_lag: float = 0.5
    flag_amount_threshold: float = 200_000.0
    flag_rate: float = 0.006

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> GenerationConfig:
        """Check every parameter and fail with its name, so a typo in YAML is caught early."""
        if not isinstance(params, Mapping):
            raise TypeError(
                f"data_generation: parameters must be a mapping, got {type(params).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"data_generation: unknown parameter(s) {unknown}; expected some of {sorted(known)}"
            )
        for required in ("n_rows", "seed"):
            if required not in params:
                raise ValueError(f"data_generation.{required} is missing: set it in "
                                 "conf/base/parameters_data_generation.yml")
        return cls(**params)

    def __post_init__(self) -> None:
        _check_int("n_rows", self.n_rows, minimum=1)
        _check_int("seed", self.seed, minimum=0)
        _check_int("n_steps", self.n_steps, minimum=1)
        _check_number("mean_transactions_per_customer", self.mean_transactions_per_customer,
                      minimum=1.0)
        for name in (
            "type_concentration", "customer_amount_sigma", "transaction_amount_sigma",
            "max_amount", "balance_to_amount_ratio", "transactions_per_destination",
            "payments_per_merchant", "destination_balance_median", "fraud_amount_multiplier",
            "fraud_max_amount", "fraud_cash_out_lag", "flag_amount_threshold",
        ):
            _check_number(name, getattr(self, name), minimum=0.0, strict=True)
        for name in (
            "night_activity", "untracked_balance_rate", "stale_balance_rate",
            "account_closing_rate", "new_destination_rate", "destination_error_rate",
            "genuine_zero_destination_rate", "fraud_zero_destination_rate", "flag_rate",
        ):
            _check_number(name, getattr(self, name), minimum=0.0, maximum=1.0)
        # Each fraud is two rows taken from the customers' own rows: keep it a minority.
        _check_number("fraud_rate", self.fraud_rate, minimum=0.0, maximum=0.1)
        _check_type_mapping("type_mix", self.type_mix, positive_sum=True)
        _check_type_mapping("median_amount_by_type", self.median_amount_by_type, positive_all=True)

    def type_probabilities(self) -> np.ndarray:
        """The type mix as probabilities in ``TYPES`` order."""
        weights = np.array([float(self.type_mix[name]) for name in TYPES])
        return weights / weights.sum()

    def type_medians(self) -> np.ndarray:
        """Median amount of each type in ``TYPES`` order."""
        return np.array([float(self.median_amount_by_type[name]) for name in TYPES])


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"data_generation.{name} must be an integer >= {minimum}, got {value!r}"
        )


def _check_number(
    name: str, value: Any, minimum: float, maximum: float = math.inf, strict: bool = False
) -> None:
    is_number = not isinstance(value, bool) and isinstance(
        value, (int, float, np.integer, np.floating)
    )
    above = is_number and (value > minimum if strict else value >= minimum)
    if not (above and math.isfinite(value) and value <= maximum):
        bound = f"> {minimum}" if strict else f">= {minimum}"
        upper = "" if maximum == math.inf else f" and <= {maximum}"
        raise ValueError(f"data_generation.{name} must be a number {bound}{upper}, got {value!r}")


def _check_type_mapping(
    name: str, value: Any, positive_sum: bool = False, positive_all: bool = False
) -> None:
    if not isinstance(value, Mapping) or set(value) != set(TYPES):
        keys = sorted(value) if isinstance(value, Mapping) else value
        raise ValueError(f"data_generation.{name} must map exactly {list(TYPES)} to numbers, "
                         f"got {keys!r}")
    for key, number in value.items():
        _check_number(f"{name}.{key}", number, minimum=0.0, strict=positive_all)
    if positive_sum and sum(value.values()) <= 0:
        raise ValueError(f"data_generation.{name} must have a positive total, got {dict(value)}")


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


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


def make_customers(rng: np.random.Generator, config: GenerationConfig, n_rows: int) -> Customers:
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


# --------------------------------------------------------------------------------------
# Time, types, amounts
# --------------------------------------------------------------------------------------


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


def transaction_amounts(
    rng: np.random.Generator,
    config: GenerationConfig,
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
    return _to_cents(np.exp(log_amount), config.max_amount)


def _to_cents(values: np.ndarray, cap: float) -> np.ndarray:
    """Money in integer cents, at least one cent and at most ``cap``."""
    return np.clip(np.rint(values * 100.0), 1, round(cap * 100)).astype(np.int64)


# --------------------------------------------------------------------------------------
# Who drains an account: fraud victims and customers closing their account
# --------------------------------------------------------------------------------------


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


def choose_closers(
    rng: np.random.Generator,
    config: GenerationConfig,
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


# --------------------------------------------------------------------------------------
# Origin balances
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OriginBalances:
    """Per-row origin balances in cents, and the (possibly replaced) amounts."""

    amount: np.ndarray
    old: np.ndarray
    new: np.ndarray


def origin_balances(
    rng: np.random.Generator,
    config: GenerationConfig,
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

    usual = np.bincount(owner, weights=amount) / customers.counts  # mean amount, cents
    cushion = np.maximum(
        usual * rng.lognormal(np.log(config.balance_to_amount_ratio), 1.0, usual.size), 100
    )
    target = np.minimum(
        usual[victims] * config.fraud_amount_multiplier * rng.lognormal(0.0, 0.5, victims.size),
        config.fraud_max_amount * 100,
    )
    cushion[victims] = np.maximum(target - (drawdown[victims] + running[lasts[victims]]), 100)
    opening = drawdown + np.rint(cushion).astype(np.int64)

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


def _segmented_cumsum(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum restarting at every customer's first row."""
    total = np.cumsum(values)
    before = total[starts] - values[starts]
    return total - np.repeat(before, counts)


# --------------------------------------------------------------------------------------
# Destinations
# --------------------------------------------------------------------------------------


def destination_balances(
    rng: np.random.Generator, config: GenerationConfig, codes: np.ndarray, amount: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Destination balances in cents for genuine rows, with PaySim-like bookkeeping noise.

    Merchants (PAYMENT) report no balances. A CASH_IN is paid out by the destination, so
    its balance falls; other types credit it. Some destinations are new accounts (old 0),
    some rows were not booked yet (new = old), a very few report zeros on both sides.
    """
    n = codes.size
    held = _to_cents(
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


def account_names(prefix: str, ids: np.ndarray) -> np.ndarray:
    """PaySim-style account names ('C1231006815') as a numpy object array."""
    return (prefix + pd.Series(ids, dtype=np.int64).astype(str)).to_numpy(dtype=object)


def destination_names(
    rng: np.random.Generator, config: GenerationConfig, codes: np.ndarray
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


# --------------------------------------------------------------------------------------
# Fraud: the victim's TRANSFER to a mule, then the mule's CASH_OUT
# --------------------------------------------------------------------------------------


def fraud_destination_balances(
    rng: np.random.Generator, config: GenerationConfig, amount: np.ndarray, zero_start: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Destination balances of fraud rows; about half report zeros before and after (PaySim).

    A mule account starts empty (``zero_start``); a cash-out agent holds some cash.
    """
    n = amount.size
    old = np.zeros(n, dtype=np.int64) if zero_start else _to_cents(
        rng.lognormal(np.log(config.destination_balance_median), 1.5, n), config.max_amount * 10
    )
    new = old + amount
    zero = rng.random(n) < config.fraud_zero_destination_rate
    old[zero] = 0
    new[zero] = 0
    return old, new


def flagged(
    rng: np.random.Generator, config: GenerationConfig, rows: dict[str, np.ndarray]
) -> np.ndarray:
    """PaySim's isFlaggedFraud: only fraudulent TRANSFERs above the threshold, and rarely."""
    eligible = (
        rows["isFraud"]
        & (rows["type"] == TRANSFER)
        & (rows["amount"] > config.flag_amount_threshold * 100)
    )
    return eligible & (rng.random(eligible.size) < config.flag_rate)


# --------------------------------------------------------------------------------------
# Rows: customers' histories, then the mules' cash-outs
# --------------------------------------------------------------------------------------


def originator_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 'C' account names: two customers never share a name."""
    return account_names("C", rng.choice(_ID_HIGH - _ID_LOW, size=n, replace=False) + _ID_LOW)


def customer_rows(
    rng: np.random.Generator,
    config: GenerationConfig,
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


def mule_rows(
    rng: np.random.Generator,
    config: GenerationConfig,
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


# --------------------------------------------------------------------------------------
# The node
# --------------------------------------------------------------------------------------


def generate_transactions(params: dict) -> pd.DataFrame:
    """Synthetic PaySim transactions, sorted by step, with customer histories.

    Args:
        params: the ``data_generation`` parameters; ``n_rows`` and ``seed`` are required,
            the other knobs default to PaySim-like values (see GenerationConfig).

    Returns:
        Exactly ``n_rows`` rows in the Kaggle column order and types.
    """
    config = GenerationConfig.from_params(params)
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


def to_paysim_frame(rows: dict[str, np.ndarray]) -> pd.DataFrame:
    """Sort by time and convert to the Kaggle file's columns, types and number format.

    Money goes from cents to floats with two decimals (``9839.64``, ``170136.0``), so the
    CSV written by pandas looks like the Kaggle file.
    """
    order = np.argsort(rows["step"], kind="stable")
    money = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
    converted: dict[str, np.ndarray] = {
        "step": np.floor(rows["step"][order]).astype(np.int64) + 1,
        "type": np.array(TYPES, dtype=object)[rows["type"][order]],
        **{name: rows[name][order] / 100.0 for name in money},
        **{name: rows[name][order] for name in ("nameOrig", "nameDest")},
        **{name: rows[name][order].astype(np.int64) for name in ("isFraud", "isFlaggedFraud")},
    }
    # The arrays are fresh and owned by nobody else: no copy (saves seconds at 6M rows).
    return pd.DataFrame({name: converted[name] for name in RAW_COLUMNS}, copy=False)
