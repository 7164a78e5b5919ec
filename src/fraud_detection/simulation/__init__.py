"""Synthetic PaySim-format transactions, with customer histories (numpy and pandas only).

The Kaggle PaySim file has the right schema and statistics but every originator appears
about once, so per-customer features carry no signal. This simulation keeps PaySim's
marginals (type mix, amounts, fraud rate and fraud mechanics, balance quirks) and adds
histories: each customer makes several transactions over increasing steps, at their own
amount level and type mix, and their balance evolves from one transaction to the next.

Everything is vectorised with numpy (no Python loop per row or per customer). One module
per concern, in the order a row is made:

- :mod:`.config`: the parameters (``GenerationParams``) and PaySim's values;
- :mod:`.customers`: who transacts, when (hours, quiet at night) and which type;
- :mod:`.amounts`: how much, in integer cents;
- :mod:`.balances`: origin balances along each history, destination balances;
- :mod:`.names`: 'C' and 'M' account names;
- :mod:`.fraud`: victims, mules, their cash-outs, ``isFlaggedFraud``;
- :mod:`.transactions`: the whole simulation in the order of its random draws;
- :mod:`.frame`: the Kaggle file's columns, types and number format.

A foundation of the project: it imports nothing from pipelines, datasets, tracking or hooks;
the ``data_generation`` pipeline's node calls :func:`simulate_transactions`.
"""

from fraud_detection.simulation.config import GenerationParams
from fraud_detection.simulation.transactions import simulate_transactions

__all__ = ["GenerationParams", "simulate_transactions"]
