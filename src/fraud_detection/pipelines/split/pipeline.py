"""Raw CSV -> validated rows (+ quarantine) -> customer shards."""

from kedro.pipeline import Node, Pipeline

from .nodes import enforce_quarantine_threshold, shard_by_customer, validate_transactions


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                validate_transactions,
                inputs=["raw_transactions@spark", "params:split"],
                outputs=[
                    "parsed_transactions", "quarantined_transactions", "raw_validation_report"
                ],
                name="validate_transactions",
            ),
            Node(
                enforce_quarantine_threshold,
                inputs=["parsed_transactions", "raw_validation_report", "params:split"],
                outputs="validated_transactions",
                name="enforce_quarantine_threshold",
            ),
            Node(
                shard_by_customer,
                inputs=["validated_transactions", "params:split"],
                outputs="transaction_shards",
                name="shard_by_customer",
            ),
        ]
    )
