"""The generator's parameters (``params:data_generation``) and the PaySim values they default to.

``GenerationParams`` is built on the same base as the pipelines' other parameter types
(:class:`fraud_detection.parameters.Parameters`): unknown keys are refused, no value is
converted from another type, and the generator cannot change what it was given. The
generation node declares it, so in a Kedro run a bad value is refused before any work,
named by its full key and where it came from (:mod:`fraud_detection.hooks.parameters`).

Only ``n_rows`` and ``seed`` are required; every other knob defaults to the value that
reproduces PaySim, so callers (tests, notebooks) can pass just the size and the seed.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from fraud_detection.parameters import Parameters, Probability

# Transaction types, as integer codes in the simulation; the order is PaySim's frequency order.
TYPES: tuple[str, ...] = ("CASH_OUT", "PAYMENT", "CASH_IN", "TRANSFER", "DEBIT")
CASH_OUT, PAYMENT, CASH_IN, TRANSFER, DEBIT = range(len(TYPES))

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

Count = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=0)]
Weight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class _PerType(Parameters):
    """One number for each transaction type, every type present."""

    def in_type_order(self) -> np.ndarray:
        """The numbers as floats in ``TYPES`` order (the order of the type codes)."""
        return np.array([float(getattr(self, name)) for name in TYPES])


class TypeMix(_PerType):
    """Relative frequency of each type; normalised, so only the ratios count."""

    CASH_OUT: Weight
    PAYMENT: Weight
    CASH_IN: Weight
    TRANSFER: Weight
    DEBIT: Weight

    @model_validator(mode="after")
    def _positive_total(self) -> TypeMix:
        if self.in_type_order().sum() <= 0:
            raise ValueError("the weights must have a positive total")
        return self


class TypeAmounts(_PerType):
    """Median amount of each type."""

    CASH_OUT: Positive
    PAYMENT: Positive
    CASH_IN: Positive
    TRANSFER: Positive
    DEBIT: Positive


class GenerationParams(Parameters):
    """``params:data_generation``: size, seed and the knobs of the simulation.

    conf/base/parameters_data_generation.yml describes each knob; its values are these
    defaults (a test keeps them in step).
    """

    # Errors read "1 validation error for data_generation", naming the parameters' key.
    model_config = ConfigDict(title="data_generation")

    n_rows: Count
    seed: Seed
    n_steps: Count = 743
    night_activity: Probability = 0.2
    mean_transactions_per_customer: Annotated[float, Field(ge=1.0, allow_inf_nan=False)] = 5.0
    type_mix: TypeMix = TypeMix(**PAYSIM_TYPE_MIX)
    type_concentration: Positive = 5.0
    median_amount_by_type: TypeAmounts = TypeAmounts(**MEDIAN_AMOUNT_BY_TYPE)
    customer_amount_sigma: Positive = 0.6
    transaction_amount_sigma: Positive = 0.6
    max_amount: Positive = 92_445_516.15
    balance_to_amount_ratio: Positive = 3.0
    untracked_balance_rate: Probability = 0.35
    stale_balance_rate: Probability = 0.05
    account_closing_rate: Probability = 0.01
    transactions_per_destination: Positive = 7.0
    payments_per_merchant: Positive = 1.5
    destination_balance_median: Positive = 130_000.0
    new_destination_rate: Probability = 0.3
    destination_error_rate: Probability = 0.2
    genuine_zero_destination_rate: Probability = 0.001
    # Each fraud is two rows taken from the customers' own rows: keep it a minority.
    fraud_rate: Annotated[float, Field(ge=0.0, le=0.1)] = 0.00129
    fraud_amount_multiplier: Positive = 6.0
    fraud_max_amount: Positive = 10_000_000.0
    fraud_zero_destination_rate: Probability = 0.5
    fraud_cash_out_lag: Positive = 0.5
    flag_amount_threshold: Positive = 200_000.0
    flag_rate: Probability = 0.006

    def type_probabilities(self) -> np.ndarray:
        """The type mix as probabilities in ``TYPES`` order."""
        weights = self.type_mix.in_type_order()
        return weights / weights.sum()

    def type_medians(self) -> np.ndarray:
        """Median amount of each type in ``TYPES`` order."""
        return self.median_amount_by_type.in_type_order()
