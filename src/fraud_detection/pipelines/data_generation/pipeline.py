"""Parameters -> synthetic raw transactions (data/01_raw/transactions.csv via the catalog)."""

from kedro.pipeline import Node, Pipeline

from .nodes import generate_transactions


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                generate_transactions,
                inputs="params:data_generation",
                outputs="raw_transactions@pandas",
                name="generate_transactions",
            ),
        ]
    )
