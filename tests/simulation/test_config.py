"""GenerationParams: every value in a knob's documented range is taken and simulates exactly
``n_rows`` rows; every value outside it, or of another type, is refused at that knob."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.simulation import GenerationParams, simulate_transactions
from fraud_detection.simulation.config import TYPES

# (knob, lowest, highest, lowest allowed?) for each number; None: no upper bound.
BOUNDS = {
    "n_rows": (1, None, True), "seed": (0, None, True), "n_steps": (1, None, True),
    "mean_transactions_per_customer": (1.0, None, True), "fraud_rate": (0.0, 0.1, True),
    **{name: (0.0, None, False) for name in (
        "type_concentration", "customer_amount_sigma", "transaction_amount_sigma",
        "max_amount", "balance_to_amount_ratio", "transactions_per_destination",
        "payments_per_merchant", "destination_balance_median", "fraud_amount_multiplier",
        "fraud_max_amount", "fraud_cash_out_lag", "flag_amount_threshold")},
    **{name: (0.0, 1.0, True) for name in (
        "night_activity", "untracked_balance_rate", "stale_balance_rate",
        "account_closing_rate", "new_destination_rate", "destination_error_rate",
        "genuine_zero_destination_rate", "fraud_zero_destination_rate", "flag_rate")},
}
INTEGERS = ("n_rows", "seed", "n_steps")


def test_bounds_cover_every_number():
    numbers = set(GenerationParams.model_fields) - {"type_mix", "median_amount_by_type"}
    assert set(BOUNDS) == numbers


def _rate(low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    return st.floats(low, high)


def _positive(high: float) -> st.SearchStrategy[float]:
    return st.floats(0.01, high)


# Realistic ranges: wide enough to reach every branch, small enough to simulate in milliseconds.
VALID = st.fixed_dictionaries(
    {"n_rows": st.integers(1, 400), "seed": st.integers(0, 2**63)},
    optional={
        "n_steps": st.integers(1, 1000), "night_activity": _rate(),
        "mean_transactions_per_customer": st.floats(1.0, 30.0),
        "type_mix": st.fixed_dictionaries({name: _rate(0.0, 10.0) for name in TYPES}).filter(
            lambda mix: sum(mix.values()) > 0),
        "type_concentration": _positive(50.0),
        "median_amount_by_type": st.fixed_dictionaries(
            {name: _positive(1e6) for name in TYPES}),
        "customer_amount_sigma": _positive(2.0), "transaction_amount_sigma": _positive(2.0),
        "max_amount": _positive(1e8), "balance_to_amount_ratio": _positive(10.0),
        "untracked_balance_rate": _rate(), "stale_balance_rate": _rate(),
        "account_closing_rate": _rate(), "transactions_per_destination": _positive(50.0),
        "payments_per_merchant": _positive(50.0), "destination_balance_median": _positive(1e6),
        "new_destination_rate": _rate(), "destination_error_rate": _rate(),
        "genuine_zero_destination_rate": _rate(), "fraud_rate": _rate(0.0, 0.1),
        "fraud_amount_multiplier": _positive(20.0), "fraud_max_amount": _positive(1e7),
        "fraud_zero_destination_rate": _rate(), "fraud_cash_out_lag": _positive(10.0),
        "flag_amount_threshold": _positive(1e6), "flag_rate": _rate(),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALID)
def test_values_in_range_are_taken_and_simulate_exactly_n_rows(params):
    config = GenerationParams.model_validate(params)
    assert GenerationParams.model_validate(config.model_dump()) == config
    try:
        data = simulate_transactions(config)
    except ValueError as error:  # few customers (long histories) cannot give enough victims
        assert "data_generation.fraud_rate is too high for n_rows" in str(error)
        assert config.mean_transactions_per_customer > 1.0
        return
    assert len(data) == config.n_rows
    assert list(data.columns) == list(RAW_COLUMNS)
    assert data["step"].between(1, config.n_steps).all()
    money = data[["amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest",
                  "newbalanceDest"]]
    assert (money >= 0).all().all() and (data["amount"] > 0).all()
    assert data["amount"].max() <= max(round(config.max_amount * 100), 1) / 100  # whole cents
    pd.testing.assert_frame_equal(data, simulate_transactions(config))  # the seed decides


def _outside(name: str) -> st.SearchStrategy:
    """Values the knob ``name`` must refuse: out of its range, not finite, or not a number."""
    low, high, inclusive = BOUNDS[name]
    integer = name in INTEGERS
    below = (st.integers(max_value=low - 1) if integer else
             st.floats(max_value=low, exclude_max=inclusive, allow_nan=False))
    strategies = [below, st.text(max_size=3), st.booleans(), st.none(),
                  st.lists(st.integers(), max_size=1)]
    if high is not None:
        strategies.append(st.floats(min_value=high, exclude_min=True, allow_nan=False))
    if integer:
        strategies.append(st.floats(allow_nan=True).filter(lambda v: not float(v).is_integer()))
    else:
        strategies.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    return st.one_of(strategies)


@st.composite
def _bad_knob(draw) -> tuple[str, object]:
    name = draw(st.sampled_from(sorted(BOUNDS)))
    return name, draw(_outside(name))


@settings(max_examples=200, deadline=None)
@given(_bad_knob())
def test_values_out_of_range_or_of_another_type_are_refused_at_their_knob(bad):
    name, value = bad
    with pytest.raises(ValidationError) as raised:
        GenerationParams.model_validate({"n_rows": 10, "seed": 1, name: value})
    assert {error["loc"] for error in raised.value.errors()} == {(name,)}
    assert str(raised.value).startswith("1 validation error for data_generation\n")


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["type_mix", "median_amount_by_type"]), st.sampled_from(TYPES),
       st.one_of(st.floats(max_value=0.0, exclude_max=True, allow_nan=False),
                 st.sampled_from([math.nan, math.inf]), st.text(max_size=3), st.none()))
def test_a_bad_number_for_one_type_is_refused_at_that_type(knob, kind, value):
    numbers = dict.fromkeys(TYPES, 1.0) | {kind: value}
    with pytest.raises(ValidationError) as raised:
        GenerationParams.model_validate({"n_rows": 10, "seed": 1, knob: numbers})
    assert {error["loc"] for error in raised.value.errors()} == {(knob, kind)}


def test_median_amounts_must_be_positive_and_the_mix_needs_some_weight():
    for knob, numbers in (("median_amount_by_type", dict.fromkeys(TYPES, 1.0) | {"DEBIT": 0}),
                          ("type_mix", dict.fromkeys(TYPES, 0))):
        with pytest.raises(ValidationError) as raised:
            GenerationParams.model_validate({"n_rows": 10, "seed": 1, knob: numbers})
        [error] = raised.value.errors()
        assert error["loc"][0] == knob
    assert "positive total" in str(raised.value)
    GenerationParams(n_rows=1, seed=0, type_mix=dict.fromkeys(TYPES, 0) | {"DEBIT": 1})


def test_parameters_are_frozen():
    with pytest.raises(ValidationError, match="frozen"):
        GenerationParams(n_rows=1, seed=0).n_rows = 5
