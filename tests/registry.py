"""Registered model versions for tests, made the way the training run's MLflow hook makes them.

A small Spark ML pipeline (the project's own estimator, real feature columns) fitted on a few
thousand generated rows, logged with ``mlflow.spark.log_model`` and registered, with the
version tags (``coordinate``, ``run_id``, ``kedro_run_id``) and aliases of the contract.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pyspark
import yaml
from mlflow.tracking import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fraud_detection.ml.model_input import model_input_columns
from fraud_detection.model_scope import SCOPE_KEY, scope_tag
from fraud_detection.parameters import AggregateParams, TrainParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.pipelines.data_generation.nodes import generate_transactions
from fraud_detection.pipelines.train.nodes import fit_model, split_train_test
from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.tracking.model_logging import model_signature

CONF = Path(__file__).resolve().parents[1] / "conf" / "base"
GROUP_ARTIFACT = "com.example.fraud:paysim-decision-tree"


def train_params(**changes: Any) -> TrainParams:
    """``params:train`` from conf/base with a shallow tree (fast, and still a real model),
    and any top-level key replaced by ``changes``."""
    params = yaml.safe_load((CONF / "parameters_train.yml").read_text())["train"]
    params["model"] = {**params["model"], "max_depth": 4, "max_bins": 32}
    return TrainParams.model_validate({**params, **changes})


def generated_transactions(spark: SparkSession, n_rows: int = 3000, seed: int = 7) -> DataFrame:
    """PaySim-format rows with the types validation gives them, and frauds among them."""
    rows = generate_transactions({"n_rows": n_rows, "seed": seed, "fraud_rate": 0.03})
    frame = spark.createDataFrame(rows)
    return frame.select(*(F.col(name).cast(kind).alias(name) for name, kind in RAW_COLUMNS.items()))


def model_input(spark: SparkSession, n_rows: int = 3000, seed: int = 7) -> DataFrame:
    """The model input table of generated rows (raw columns, features, label)."""
    return build_model_input_table(
        generated_transactions(spark, n_rows, seed), AggregateParams(balance_tolerance=0.01)
    )


_FITTED: dict[int, tuple[PipelineModel, DataFrame]] = {}


def fit_small_model(spark: SparkSession) -> tuple[PipelineModel, DataFrame]:
    """A fitted fraud model and the model input table it was fitted on (fitted once per run)."""
    if id(spark) not in _FITTED:
        table = model_input(spark).cache()
        train, _ = split_train_test(table, train_params())
        _FITTED[id(spark)] = fit_model(train, train_params()), table
    return _FITTED[id(spark)]


def saved_model_files(folder: Path) -> dict[str, bytes]:
    """Relative name -> bytes of a saved Spark ML model's files (Hadoop's checksums left
    out). Spark stamps each save's metadata with its time: equal files mean one save."""
    return {str(f.relative_to(folder)): f.read_bytes() for f in folder.rglob("*")
            if f.is_file() and not f.name.endswith(".crc")}


def input_example(model: PipelineModel, table: DataFrame, n: int = 2) -> pd.DataFrame:
    """``n`` rows of the columns the model needs (one fraud first when there is one)."""
    rows = table.orderBy(F.desc("label"), "step", "nameOrig").limit(n)
    return rows.select(*model_input_columns(model)).toPandas()


@contextmanager
def mlflow_uris(uri: str) -> Iterator[None]:
    """Point MLflow's global tracking and registry URIs at ``uri``, then put them back."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # set_tracking_uri exports MLFLOW_TRACKING_URI only when the URI changes: an earlier
    # in-process run may have left the global at ``uri`` with the variable since removed.
    os.environ["MLFLOW_TRACKING_URI"] = os.environ["MLFLOW_REGISTRY_URI"] = uri
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved[0])
        registry_utils._registry_uri = saved[1]
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def register_version(
    uri: str,
    name: str,
    model: PipelineModel,
    example: pd.DataFrame,
    *,
    aliases: tuple[str, ...] = (),
    threshold: float | None = None,
    experiment: str = "registry-tests",
    transaction_types: tuple[str, ...] | None = None,
) -> int:
    """Log ``model`` in a new run and register it under ``name`` as the hook does; its version.

    ``threshold``, when given, is logged as the run's ``threshold`` metric (as the hook logs
    the evaluation metrics); ``transaction_types``, when given, is the version's scope, in
    the logged model's metadata and the version's tag (else the version records none, as
    versions registered before scopes were).
    """
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    signature = model_signature(model, SparkSession.getActiveSession().createDataFrame(example))
    with mlflow_uris(uri), mlflow.start_run(experiment_id=experiment_id) as run:
        if threshold is not None:
            mlflow.log_metric("threshold", threshold)
        info = mlflow.spark.log_model(
            model,
            artifact_path="model",
            signature=signature,
            input_example=example,
            pip_requirements=[f"pyspark=={pyspark.__version__}", f"mlflow=={mlflow.__version__}"],
            registered_model_name=name,
            metadata={SCOPE_KEY: list(transaction_types)} if transaction_types else None,
        )
    version = int(info.registered_model_version)
    tags = {
        "coordinate": f"{GROUP_ARTIFACT}:1.0.{version}",
        "run_id": run.info.run_id,
        "kedro_run_id": f"kedro-{version}",
        **({SCOPE_KEY: scope_tag(transaction_types)} if transaction_types else {}),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    for alias in aliases:
        client.set_registered_model_alias(name, alias, str(version))
    return version
