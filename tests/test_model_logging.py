"""Logging a fitted pipeline to MLflow: signature, example, and the copy of the saved model."""

from __future__ import annotations

import warnings
from pathlib import Path

import mlflow
import pytest
import yaml
from mlflow.models import infer_signature
from pyspark.sql import functions as F

from fraud_detection.ml.model_input import model_input_columns
from fraud_detection.tracking.model_logging import (
    log_spark_model,
    mlflow_schema,
    scope_tags,
    signature_and_example,
)
from tests.registry import fit_small_model, mlflow_uris, saved_model_files


def _predictions(model, table) -> list[float]:
    return [r.prediction for r in model.transform(table).orderBy("nameOrig", "step").collect()]


def _logged(spark, server, tmp_path, saved_uri=None, transaction_types=None):
    model, table = fit_small_model(spark)
    with mlflow_uris(server.url):
        with mlflow.start_run():  # ended before the download: the run's artifacts are complete
            info = log_spark_model(model, table, saved_uri=saved_uri,
                                   transaction_types=transaction_types)
        local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path)))
    return model, table, info, local


def test_the_logged_model_is_a_copy_of_the_one_saved(spark, mlflow_server, tmp_path):
    model, _ = fit_small_model(spark)
    saved = tmp_path / "saved"
    model.write().save(str(saved))
    model, table, info, local = _logged(spark, mlflow_server, tmp_path / "logged", str(saved),
                                        transaction_types=["TRANSFER", "CASH_OUT"])
    assert saved_model_files(local / "sparkml") == saved_model_files(saved)  # copied
    # Its scope: the types it was trained on, in the files, on the logged model and the run.
    assert mlflow.models.Model.load(str(local)).metadata == {
        "transaction_types": ["CASH_OUT", "TRANSFER"]}
    assert scope_tags(info) == {"transaction_types": "CASH_OUT,TRANSFER"}
    client = mlflow.MlflowClient(mlflow_server.url)
    assert client.get_logged_model(info.model_id).tags["transaction_types"] == "CASH_OUT,TRANSFER"
    assert client.get_run(info.run_id).data.tags["transaction_types"] == "CASH_OUT,TRANSFER"
    flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["spark"]
    assert flavor["model_class"] == "pyspark.ml.pipeline.PipelineModel"
    with mlflow_uris(mlflow_server.url):
        reloaded = mlflow.spark.load_model(info.model_uri)
    assert _predictions(reloaded, table) == _predictions(model, table)


def test_without_a_saved_model_spark_writes_it(spark, mlflow_server, tmp_path):
    model, table, info, local = _logged(spark, mlflow_server, tmp_path)
    assert (local / "sparkml" / "metadata").is_dir()
    assert scope_tags(info) == {}  # no scope given, none recorded
    assert "transaction_types" not in (mlflow.models.Model.load(str(local)).metadata or {})
    with mlflow_uris(mlflow_server.url):
        reloaded = mlflow.spark.load_model(info.model_uri)
    assert _predictions(reloaded, table) == _predictions(model, table)
    # The signature: the columns the pipeline reads, and its own prediction column.
    assert [s.name for s in info.signature.inputs] == model_input_columns(model)
    assert [(s.name, s.type.name) for s in info.signature.outputs] == [("prediction", "double")]
    example = mlflow.models.Model.load(str(local)).load_input_example(str(local))
    assert list(example.columns) == model_input_columns(model) and len(example) == 5
    columns = table.select(*model_input_columns(model))
    examples = spark.createDataFrame(example, schema=columns.schema)
    assert examples.exceptAll(columns).isEmpty()  # example rows come from the table


def test_a_saved_model_that_is_gone_fails_the_logging(spark, mlflow_server, tmp_path):
    model, table = fit_small_model(spark)
    with mlflow_uris(mlflow_server.url), mlflow.start_run(), pytest.raises(
        FileNotFoundError, match=r"the saved model .*missing does not exist"
    ):
        log_spark_model(model, table, saved_uri=str(tmp_path / "missing"))


def test_the_signature_declares_the_spark_types_without_mlflow_s_warning(spark):
    model, table = fit_small_model(spark)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        signature, _ = signature_and_example(model, table)
    assert not [w for w in caught if "Inferred schema" in str(w.message)]
    inputs = {spec.name: spec.type.name for spec in signature.inputs}
    assert (inputs["type"], inputs["amount"], inputs["hourOfDay"]) == (
        "string", "double", "integer"
    )
    assert inputs["custPriorTxnCount"] == "long"
    # The same schema MLflow infers from the same Spark columns.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inferred = infer_signature(table.select(*model_input_columns(model)))
    assert signature.inputs == inferred.inputs


def test_a_column_the_signature_cannot_declare_is_named(spark):
    df = spark.range(1).select(F.array(F.lit(1.0)).alias("amounts"))
    with pytest.raises(TypeError, match=r"column 'amounts' has Spark type array<double>"):
        mlflow_schema(df)


def test_a_scope_that_is_no_transaction_type_is_refused_before_logging(spark):
    model, table = fit_small_model(spark)
    with pytest.raises(ValueError, match=r"'WIRE' is not a transaction type.*CASH_IN, CASH_OUT"):
        log_spark_model(model, table, transaction_types=["TRANSFER", "WIRE"])
