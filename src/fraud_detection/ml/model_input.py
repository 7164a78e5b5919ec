"""The input columns a fitted Spark ML pipeline reads.

Model logging writes them into the model's signature and the scoring nodes check a batch
has them: one definition below both, so the two can never disagree.
"""

from __future__ import annotations

from pyspark.ml import PipelineModel
from pyspark.ml.feature import StringIndexerModel, VectorAssembler


def model_input_columns(model: PipelineModel) -> list[str]:
    """The columns of the input table the fitted pipeline reads, in a stable order."""
    produced: set[str] = set()
    needed: list[str] = []
    for stage in model.stages:
        if isinstance(stage, StringIndexerModel):
            inputs, outputs = stage.getInputCols(), stage.getOutputCols()
        elif isinstance(stage, VectorAssembler):
            inputs, outputs = stage.getInputCols(), [stage.getOutputCol()]
        else:
            continue
        needed += [c for c in inputs if c not in produced and c not in needed]
        produced.update(outputs)
    return needed
