"""How the project names things in the catalog and beside stored data.

A foundation module: the provenance hook, the MLflow hook, the lineage walk and the
``kedro provenance`` commands must agree on these names, so they live below all of them.
"""

from __future__ import annotations

RECORD = "provenance.json"  # the provenance record written beside each local versioned output


def base_name(dataset_name: str) -> str:
    """``raw_transactions@spark`` -> ``raw_transactions``: one name for all transcodings."""
    return dataset_name.split("@", 1)[0]


def is_parameters(dataset_name: str) -> bool:
    """``parameters`` and ``params:<key>``: Kedro's parameter inputs, not data."""
    return dataset_name == "parameters" or dataset_name.startswith("params:")
