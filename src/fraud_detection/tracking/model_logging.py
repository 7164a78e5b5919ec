"""Log a fitted Spark ML pipeline with ``mlflow.spark``: signature, input example, pinned pins.

The signature lists exactly the input columns the pipeline reads (Unity Catalog requires a
signature with inputs and outputs); pip requirements are pinned to what ran, so a served or
scored model uses the same libraries, and MLflow does not spend seconds inferring them.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import replace
from importlib.metadata import version

import mlflow
import mlflow.spark
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, DataType, Schema
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from fraud_detection.ml.model_input import model_input_columns
from fraud_detection.model_scope import SCOPE_KEY, normalized, scope_tag
from fraud_detection.tracking import online_flavor
from fraud_detection.tracking.background import in_background
from fraud_detection.tracking.online_flavor import OnlineSettings, raw_example, raw_signature

PINNED = ("pyspark", "mlflow", "pandas", "numpy", "pyarrow")


def pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in PINNED]


# MLflow's type of each Spark type a model input or output can have.
_MLFLOW_TYPES = {
    T.StringType: DataType.string,
    T.DoubleType: DataType.double,
    T.FloatType: DataType.float,
    T.IntegerType: DataType.integer,
    T.LongType: DataType.long,
    T.BooleanType: DataType.boolean,
}


def mlflow_schema(df: DataFrame) -> Schema:
    """``df``'s columns with their Spark types as MLflow types: declared, not inferred.

    Integer columns stay integers. MLflow's inference would say the same, with a warning
    that a missing integer fails the schema check at scoring time; here that is the point:
    the pipeline never leaves a feature missing, and a request without one is refused by
    the schema, as the feature assembler would refuse it.
    """
    specs = []
    for field in df.schema.fields:
        kind = _MLFLOW_TYPES.get(type(field.dataType))
        if kind is None:
            raise TypeError(
                f"model signature: column '{field.name}' has Spark type "
                f"{field.dataType.simpleString()}, which the signature cannot declare; "
                f"cast it to one of {', '.join(t().simpleString() for t in _MLFLOW_TYPES)}"
            )
        specs.append(ColSpec(kind, field.name))
    return Schema(specs)


def model_signature(model: PipelineModel, rows: DataFrame) -> ModelSignature:
    """The columns of ``rows`` that ``model`` reads, and its own ``prediction`` column, with
    their Spark types. The output's type comes from ``model.transform`` on no rows: Spark
    plans it but scores nothing."""
    inputs = rows.select(*model_input_columns(model))
    outputs = model.transform(rows.limit(0)).select("prediction")
    return ModelSignature(inputs=mlflow_schema(inputs), outputs=mlflow_schema(outputs))


def signature_and_example(model: PipelineModel, rows: DataFrame, n: int = 5):
    """:func:`model_signature` and an input example: ``n`` rows of ``rows`` (one small
    Spark job) in the signature's columns."""
    signature = model_signature(model, rows)
    return signature, rows.select(*signature.inputs.input_names()).limit(n).toPandas()


def log_spark_model(model: PipelineModel, rows: DataFrame, name: str = "model",
                    saved_uri: str | None = None,
                    transaction_types: Iterable[str] | None = None,
                    online: OnlineSettings | None = None):
    """Log ``model`` to the active run with the ``mlflow.spark`` flavor; returns MLflow's
    ``ModelInfo``. The model is a logged model of the run: ``runs:/<run_id>/model``.

    ``transaction_types``: the types the model was trained on (``train.transaction_types``),
    its scope (:mod:`fraud_detection.model_scope`): recorded in the logged model's metadata,
    which travels with its files, and as the run's tag, so a version alone tells what it
    may score.

    ``saved_uri``: where Spark already saved this same fitted model in this run (the Kedro
    dataset's version); its files are copied into the logged model instead of Spark writing
    them a second time.

    ``online``: the feature and validation settings of the JVM-free ``python_function``
    flavor (:mod:`fraud_detection.tracking.online_flavor`); with them, the logged model
    serves raw PaySim rows without Java, and its signature and example are the raw columns.
    Without them, only Spark's own flavors are written (the columns the pipeline reads).

    ``Model.log`` rather than ``mlflow.spark.log_model``, which has no switch for MLflow's
    check that the logged model serves its input example: that check loads the model again
    and scores the example (1-1.6 s of CPU). The tracking tests serve the logged model its
    serving example instead (``mlflow.models.predict``).
    """
    scope = None if transaction_types is None else normalized(transaction_types)  # before work
    signature, example = signature_and_example(model, rows)
    if scope is not None:
        mlflow.set_tag(SCOPE_KEY, scope_tag(scope))
    spark_model = _saved_copy(model, saved_uri, rows.sparkSession) if saved_uri else model
    if online is not None:  # the JVM-free pyfunc beside the spark flavor, raw rows in
        flavor, signature, example = online_flavor, raw_signature(), raw_example(rows)
        extra = {"online_settings": replace(online, transaction_types=scope)}
    else:
        flavor, extra = mlflow.spark, {}
    return Model.log(
        artifact_path=None,
        name=name,
        flavor=flavor,
        spark_model=spark_model,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        validate_serving_input=False,
        metadata=None if scope is None else {SCOPE_KEY: list(scope)},
        tags=None if scope is None else {SCOPE_KEY: scope_tag(scope)},
        **extra,
    )


def _saved_copy(model: PipelineModel, saved_uri: str, spark: SparkSession) -> PipelineModel:
    """The same fitted stages, whose ``save(path)`` copies ``saved_uri`` to ``path``.

    ``mlflow.spark`` saves the model with ``spark_model.save`` to a temporary DFS path and
    moves it into the logged model; the class it records is still ``PipelineModel``.
    """
    same = PipelineModel(model.stages)
    same.save = lambda path: copy_directory(spark, saved_uri, path)
    return same


def copy_directory(spark: SparkSession, source: str, target: str) -> None:
    """Copy a directory with Hadoop's file systems (local, HDFS, S3, DBFS, Volumes)."""
    jvm, conf = spark._jvm, spark._jsc.hadoopConfiguration()
    hadoop = jvm.org.apache.hadoop.fs
    src, dst = hadoop.Path(source), hadoop.Path(target)
    source_fs = src.getFileSystem(conf)
    if not source_fs.exists(src):
        raise FileNotFoundError(f"the saved model {source} does not exist: nothing to copy")
    if not hadoop.FileUtil.copy(source_fs, src, dst.getFileSystem(conf), dst, False, conf):
        raise OSError(f"could not copy the saved model {source} to {target}")


def log_spark_model_in_background(run_id: str, model: PipelineModel, rows: DataFrame,
                                  saved_uri: str | None = None,
                                  transaction_types: Iterable[str] | None = None,
                                  online: OnlineSettings | None = None) -> Future:
    """:func:`log_spark_model` to run ``run_id`` in a worker thread; the future gives the
    ``ModelInfo`` (or raises what logging raised).

    Writing the model's files and its metadata takes seconds that the run can spend
    evaluating meanwhile.
    """
    return in_background("mlflow-model-log", _log_to_run, run_id, model, rows, saved_uri,
                         transaction_types, online)


def _log_to_run(run_id: str, model: PipelineModel, rows: DataFrame, saved_uri: str | None,
                transaction_types: Iterable[str] | None, online: OnlineSettings | None = None):
    # MLflow's active run is per thread: this thread joins the run, which stays RUNNING
    # (the thread never ends it; the run's owner does).
    mlflow.start_run(run_id=run_id)
    return log_spark_model(model, rows, saved_uri=saved_uri,
                           transaction_types=transaction_types, online=online)


def scope_tags(info) -> dict[str, str]:
    """The registered version's tag of the scope a logged model recorded (``ModelInfo``'s
    metadata), ``{}`` when it recorded none: the registry then shows the scope too."""
    types = (getattr(info, "metadata", None) or {}).get(SCOPE_KEY)
    return {SCOPE_KEY: scope_tag(types)} if types else {}
