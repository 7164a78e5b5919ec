"""What each output of the project's pipelines was derived from, worked out by hand from the
pipelines (``pipelines/*/pipeline.py``) and the catalog: the stored datasets at the end of
every in-memory path into the node that saves it, and the parameters read on those paths.
"""

from __future__ import annotations

SPLIT = {"params:split"}
TRAIN = {"params:train"}

# output -> (stored inputs, parameters) for `kedro run` (split, aggregate, train).
TRAINING: dict[str, tuple[set[str], set[str]]] = {
    # validate_transactions reads the raw CSV alone.
    "quarantined_transactions": ({"raw_transactions@spark"}, SPLIT),
    "raw_validation_report": ({"raw_transactions@spark"}, SPLIT),
    # shard_by_customer <- validated_transactions <- enforce_quarantine_threshold, which reads
    # parsed_transactions (<- validate_transactions) and the stored validation report.
    "transaction_shards": ({"raw_transactions@spark", "raw_validation_report"}, SPLIT),
    # build_model_input_table reads the shards only.
    "model_input_table": ({"transaction_shards"}, {"params:aggregate"}),
    # fit_model <- train_set <- split_train_test <- model_input_table.
    "fraud_model": ({"model_input_table"}, TRAIN),
    # evaluate_model reads the stored model and train_set, test_set (<- split_train_test).
    "evaluation_metrics": ({"fraud_model", "model_input_table"}, TRAIN),
    # plot_evaluation <- test_scores (<- evaluate_model) and the stored metrics.
    "evaluation_plots": ({"evaluation_metrics", "fraud_model", "model_input_table"}, TRAIN),
}

# The node that saves each output, and the in-memory steps before it, in run order.
TRAINING_NODES: dict[str, tuple[str, list[str]]] = {
    "quarantined_transactions": ("validate_transactions", []),
    "raw_validation_report": ("validate_transactions", []),
    "transaction_shards": ("shard_by_customer",
                           ["validate_transactions", "enforce_quarantine_threshold"]),
    "model_input_table": ("build_model_input_table", []),
    "fraud_model": ("fit_model", ["split_train_test"]),
    "evaluation_metrics": ("evaluate_model", ["split_train_test"]),
    "evaluation_plots": ("plot_evaluation", ["split_train_test", "evaluate_model"]),
}

# `kedro run --pipelines score`.
SCORING: dict[str, tuple[set[str], set[str]]] = {
    "scoring_quarantined_transactions": ({"scoring_transactions@spark"}, SPLIT),
    "scoring_validation_report": ({"scoring_transactions@spark"}, SPLIT),
    "scored_transactions": (
        {"scoring_transactions@spark", "scoring_validation_report", "scoring_model"},
        {"params:split", "params:aggregate", "params:score"},
    ),
}
