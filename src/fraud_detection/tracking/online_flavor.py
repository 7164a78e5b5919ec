"""Save a fitted Spark pipeline with its ``spark`` flavor and a JVM-free ``python_function``.

``mlflow.spark`` writes the ``spark`` flavor (batch scoring loads it) and a
``python_function`` flavor whose loader, ``mlflow.spark``, starts a local JVM in the serving
process. This module keeps the first and replaces the second in the same ``MLmodel``, so the
model URI users already have (``models:/fraud-detector@champion``) serves without Java:

- ``online/pipeline.json``: the fitted stages as plain data (:mod:`tracking.tree_export`),
  the feature and validation settings and the version's scope;
- ``code/fraud_detection``: this package's source, which the loader
  (:mod:`fraud_detection.serving.pyfunc`) runs, importing numpy and pandas only;
- ``requirements.txt``, ``conda.yaml``, ``python_env.yaml``: mlflow, pandas and numpy (no
  pyspark, no Java); the ``spark`` flavor lists its own pins under ``pip_requirements``.

The model's signature is the pyfunc's: the raw PaySim columns in, the scores out.
Use it as ``Model.log(flavor=online_flavor, spark_model=..., online=OnlineSettings(...))``.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow.spark
import pandas as pd
import yaml
from mlflow import pyfunc
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, DataType, Schema
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame

import fraud_detection
from fraud_detection.schema import IDENTIFIERS, LABEL, RAW_COLUMNS
from fraud_detection.serving import pyfunc as online
from fraud_detection.tracking.tree_export import export_pipeline

logger = logging.getLogger(__name__)
ONLINE_DATA = "online"
CODE = "code"
ONLINE_PINS = ("mlflow", "pandas", "numpy")


@dataclass(frozen=True)
class OnlineSettings:
    """What the JVM-free path needs besides the fitted stages: ``aggregate.balance_tolerance``
    (the features), ``split.max_abs_amount`` (validation) and the scope."""

    balance_tolerance: float
    max_abs_amount: float = 1e13
    transaction_types: tuple[str, ...] | None = None


def raw_signature() -> ModelSignature:
    """Raw PaySim columns in (numbers as doubles, so a null or a fraction reaches validation
    and is answered per row; ``isFraud`` optional), the answer's columns out."""
    inputs = [ColSpec(DataType.string if kind == "string" else DataType.double, name,
                      required=name != LABEL) for name, kind in RAW_COLUMNS.items()]
    kinds = {"fraud_probability": DataType.double, "predicted_fraud": DataType.long,
             "model_version": DataType.long}
    outputs = [ColSpec(kinds.get(name, DataType.string), name, required=False)
               for name in online.OUTPUT_COLUMNS]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def raw_example(rows: DataFrame, n: int = 5) -> pd.DataFrame:
    """``n`` rows of ``rows`` as a request carries them. Training rows have no identifiers
    (the split drops them), so those are placeholders: each row its own customer."""
    present = [name for name in RAW_COLUMNS if name in rows.columns and name != LABEL]
    example = rows.select(*present).limit(n).toPandas()
    for name in IDENTIFIERS:
        if name not in example:
            example[name] = [f"{'C' if name != 'nameDest' else 'M'}{i:09d}"
                             for i in range(len(example))]
    for name, kind in RAW_COLUMNS.items():
        if name in example and kind != "string":
            example[name] = example[name].astype("float64")
    return example[[name for name in RAW_COLUMNS if name in example]]


def save_model(spark_model: PipelineModel, path: str, mlflow_model: Model | None = None,
               online_settings: OnlineSettings | None = None,
               pip_requirements: list[str] | None = None, **kwargs: Any) -> None:
    """``mlflow.spark.save_model`` and then the JVM-free pyfunc in place of Spark's."""
    if online_settings is None:
        raise ValueError("online flavor: online_settings (balance tolerance, scope) missing")
    exported = export_pipeline(spark_model)  # before any file is written: fails early
    mlflow_model = mlflow_model or Model()
    mlflow.spark.save_model(spark_model, path, mlflow_model=mlflow_model,
                            pip_requirements=pip_requirements, **kwargs)
    root = Path(path)
    (root / ONLINE_DATA).mkdir()
    (root / ONLINE_DATA / online.PIPELINE_FILE).write_text(json.dumps({
        "pipeline": exported,
        "balance_tolerance": online_settings.balance_tolerance,
        "max_abs_amount": online_settings.max_abs_amount,
        "transaction_types": list(online_settings.transaction_types or []) or None,
    }, indent=1))
    _copy_package(root / CODE)
    mlflow_model.flavors[mlflow.spark.FLAVOR_NAME]["pip_requirements"] = pip_requirements or []
    pyfunc.add_to_model(mlflow_model, loader_module=online.__name__, data=ONLINE_DATA,
                        code=CODE, conda_env="conda.yaml", python_env="python_env.yaml")
    _write_environment(root)
    mlflow_model.save(str(root / "MLmodel"))


def online_requirements() -> list[str]:
    """The serving environment's pins: no pyspark, no Java."""
    return [f"{name}=={version(name)}" for name in ONLINE_PINS]


def _write_environment(root: Path) -> None:
    """The model's environment files, for the JVM-free pyfunc (what ``mlflow models serve``
    and serving platforms install)."""
    pins = online_requirements()
    (root / "requirements.txt").write_text("\n".join(pins) + "\n")
    conda = yaml.safe_load((root / "conda.yaml").read_text())
    conda["dependencies"] = [d if not isinstance(d, dict) else {"pip": pins}
                             for d in conda["dependencies"]]
    (root / "conda.yaml").write_text(yaml.safe_dump(conda, default_flow_style=False))


def _copy_package(target: Path) -> None:
    """This package's source (no caches) under ``target``: the pyfunc's code path."""
    source = Path(fraud_detection.__file__).parent
    shutil.copytree(source, target / source.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def online_settings_of(params: dict[str, Any], transaction_types=None) -> OnlineSettings | None:
    """The run's parameters the JVM-free path needs (``aggregate.balance_tolerance``,
    ``split.max_abs_amount``); ``None`` when the run has no ``aggregate`` parameters (a
    pipeline without features cannot describe them)."""
    tolerance = (params.get("aggregate") or {}).get("balance_tolerance")
    if tolerance is None:
        logger.warning("No aggregate.balance_tolerance among the run's parameters: the model "
                       "is logged without its JVM-free python_function flavor (it serves only "
                       "through Spark's); run with conf/base/parameters_aggregate.yml")
        return None
    max_abs = (params.get("split") or {}).get("max_abs_amount", OnlineSettings.max_abs_amount)
    return OnlineSettings(float(tolerance), float(max_abs),
                          tuple(transaction_types) if transaction_types else None)
