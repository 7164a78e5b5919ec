"""Customer shards -> model input table."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_model_input_table


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                build_model_input_table,
                inputs=["transaction_shards", "params:aggregate"],
                outputs="model_input_table",
                name="build_model_input_table",
            ),
        ]
    )
