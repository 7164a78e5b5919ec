"""The ``data_generation`` node: parameters in, synthetic PaySim transactions out.

The simulation itself is :mod:`fraud_detection.simulation`; this node only hands it the
run's parameters, which Kedro has already built into ``GenerationParams``.
"""

from __future__ import annotations

import pandas as pd

from fraud_detection.simulation import GenerationParams, simulate_transactions


def generate_transactions(params: GenerationParams) -> pd.DataFrame:
    """Synthetic PaySim transactions, sorted by step, with customer histories.

    Args:
        params: the ``data_generation`` parameters. In a Kedro run they arrive checked and
            typed; a plain dict with the same keys (tests, notebooks) is checked the same
            way. Only ``n_rows`` and ``seed`` are required, the other knobs default to
            PaySim-like values.

    Returns:
        Exactly ``n_rows`` rows in the Kaggle column order and types.

    Raises:
        pydantic.ValidationError: a parameter is missing, unknown, of the wrong type or out
            of range; the message names it.
    """
    return simulate_transactions(GenerationParams.model_validate(params))
