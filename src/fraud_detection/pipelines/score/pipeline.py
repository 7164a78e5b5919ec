"""Scoring batch -> validated rows (+ quarantine) -> features -> predictions of a registered model
-> the run's counts (scored, out of the model's scope).

The same node functions as training, on the scoring datasets of ``catalog_score.yml``: a batch
is checked and featurised exactly as the training data was.
"""

from kedro.pipeline import Node, Pipeline

from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.pipelines.split.nodes import (
    enforce_quarantine_threshold,
    validate_scoring_transactions,
)

from .nodes import score_transactions, summarize_scoring


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                validate_scoring_transactions,
                inputs=["scoring_transactions@spark", "params:split"],
                outputs=[
                    "scoring_parsed_transactions",
                    "scoring_quarantined_transactions",
                    "scoring_validation_report",
                ],
                name="validate_scoring_transactions",
            ),
            Node(
                enforce_quarantine_threshold,
                inputs=["scoring_parsed_transactions", "scoring_validation_report", "params:split"],
                outputs="scoring_validated_transactions",
                name="enforce_scoring_quarantine_threshold",
            ),
            Node(
                build_model_input_table,
                inputs=["scoring_validated_transactions", "params:aggregate"],
                outputs="scoring_features",
                name="build_scoring_features",
            ),
            Node(
                score_transactions,
                inputs=["scoring_features", "scoring_model", "params:score"],
                outputs="scored_transactions",
                name="score_transactions",
            ),
            Node(
                summarize_scoring,
                inputs="scored_transactions",
                outputs="scoring_report",
                name="summarize_scoring",
            ),
        ]
    )
