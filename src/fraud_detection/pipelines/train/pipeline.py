"""Model input table -> train/test split -> fitted Spark ML pipeline -> evaluation, plots."""

from kedro.pipeline import Node, Pipeline

from .evaluation import evaluate_model
from .nodes import fit_model, split_train_test
from .plots import plot_evaluation


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_train_test,
                inputs=["model_input_table", "params:train"],
                outputs=["train_set", "test_set"],
                name="split_train_test",
            ),
            Node(
                fit_model,
                inputs=["train_set", "params:train"],
                outputs="fraud_model",
                name="fit_model",
            ),
            Node(
                evaluate_model,
                inputs=["fraud_model", "train_set", "test_set", "params:train"],
                outputs=["evaluation_metrics", "test_scores"],
                name="evaluate_model",
            ),
            Node(
                plot_evaluation,
                inputs=["test_scores", "evaluation_metrics"],
                outputs="evaluation_plots",
                name="plot_evaluation",
            ),
        ]
    )
