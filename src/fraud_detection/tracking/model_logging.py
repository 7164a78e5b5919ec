"""Log a fitted Spark ML pipeline with ``mlflow.spark``: signature, input example, pinned pins.

The signature lists exactly the input columns the pipeline reads (Unity Catalog requires a
signature with inputs and outputs); pip requirements are pinned to what ran, so a served or
scored model uses the same libraries, and MLflow does not spend seconds inferring them.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from importlib.metadata import version

import mlflow
import mlflow.spark
from mlflow.models import Model, ModelSignature, infer_signature
from pyspark.ml import PipelineModel
from pyspark.ml.feature import StringIndexerModel, VectorAssembler
from pyspark.sql import DataFrame

PINNED = ("pyspark", "mlflow", "pandas", "numpy", "pyarrow")


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


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in PINNED]


def signature_and_example(model: PipelineModel, rows: DataFrame, n: int = 5):
    """A signature (inputs and ``prediction`` output) and an input example from real rows.

    One Spark job: the example rows and their predictions come from the same ``n`` rows.
    """
    columns = model_input_columns(model)
    scored = model.transform(rows.limit(n)).select(*columns, "prediction").toPandas()
    example, predictions = scored[columns], scored["prediction"]
    signature: ModelSignature = infer_signature(example, predictions)
    return signature, example


def log_spark_model(model: PipelineModel, rows: DataFrame, name: str = "model"):
    """Log ``model`` to the active run with the ``mlflow.spark`` flavor; returns MLflow's
    ``ModelInfo``. The model is a logged model of the run: ``runs:/<run_id>/model``.

    ``Model.log`` rather than ``mlflow.spark.log_model``, which has no switch for MLflow's
    check that the logged model serves its input example: that check loads the model again
    and scores the example once more (1-1.6 s of CPU), just after
    :func:`signature_and_example` scored the same rows with the same model. The tracking
    tests serve the logged model its serving example instead (``mlflow.models.predict``).
    """
    signature, example = signature_and_example(model, rows)
    return Model.log(
        artifact_path=None,
        name=name,
        flavor=mlflow.spark,
        spark_model=model,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        validate_serving_input=False,
    )


def log_spark_model_in_background(run_id: str, model: PipelineModel, rows: DataFrame) -> Future:
    """:func:`log_spark_model` to run ``run_id`` in a worker thread; the future gives the
    ``ModelInfo`` (or raises what logging raised).

    Saving the model and writing its artifacts take seconds that the run can spend evaluating
    meanwhile.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow-model-log")
    try:
        return executor.submit(_log_to_run, run_id, model, rows)
    finally:
        executor.shutdown(wait=False)


def _log_to_run(run_id: str, model: PipelineModel, rows: DataFrame):
    # MLflow's active run is per thread: this thread joins the run, which stays RUNNING
    # (the thread never ends it; the run's owner does).
    mlflow.start_run(run_id=run_id)
    return log_spark_model(model, rows)
