"""One SparkSession per Kedro run, built from ``conf/<env>/spark.yml``.

Nodes never build a session: they receive Spark DataFrames from the catalog. The hook
starts the session before the pipeline runs and stops it afterwards, but only if it created
it, so a session that already exists (a notebook, a test run, Databricks) is reused and kept.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any
from urllib.parse import urlsplit

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl
from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"
# Set on every Databricks compute (classic and serverless); the platform owns the session.
ON_DATABRICKS = "DATABRICKS_RUNTIME_VERSION"
STANDALONE_PORT = 7077


class SparkMasterUnavailableError(RuntimeError):
    """A standalone Spark master does not accept connections; raised before the JVM starts."""


def build_spark_session(spark_conf: dict[str, Any], app_name: str) -> SparkSession:
    """Get or create the session; every ``spark.*`` key of the config passes through.

    ``spark.master`` defaults to ``local[*]`` unless Spark Connect (``SPARK_REMOTE``) is set,
    a session is already active, or the run is on Databricks (``DATABRICKS_RUNTIME_VERSION``):
    a cluster-provided session keeps its master. A ``null`` value drops the key, so an
    environment can remove a base setting its cluster owns (``spark.driver.memory: null``).
    """
    conf = {str(k): _conf_value(v) for k, v in (spark_conf or {}).items() if v is not None}
    builder = SparkSession.builder.appName(app_name)
    if os.environ.get("SPARK_REMOTE"):
        conf.pop("spark.master", None)
        builder = builder.remote(os.environ["SPARK_REMOTE"])
    elif SparkSession.getActiveSession() is None and not os.environ.get(ON_DATABRICKS):
        conf.setdefault("spark.master", DEFAULT_MASTER)
        check_master_reachable(conf["spark.master"])
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def check_master_reachable(master: str, timeout: float = 5.0) -> None:
    """Fail in seconds, naming the URL, when no master of a standalone cluster (``spark://``,
    one or more ``host:port``) accepts a connection. Spark itself retries for a minute, then
    reports only that its SparkContext was stopped. Other masters are not checked."""
    if not master.startswith("spark://"):
        return
    refused = []
    for address in master.removeprefix("spark://").split(","):
        try:
            parsed = urlsplit(f"spark://{address}")
            port = parsed.port or STANDALONE_PORT
            with socket.create_connection((parsed.hostname, port), timeout=timeout):
                return
        except (OSError, ValueError) as error:
            refused.append(f"{address}: {error}")
    raise SparkMasterUnavailableError(
        f"spark.master {master} does not answer ({'; '.join(refused)}). Start the cluster's "
        "master, or name a running one: kedro run --env cluster --params "
        "spark.master=spark://<host>:7077"
    )


def _conf_value(value: Any) -> str:
    """Spark's spelling of a YAML value: booleans as ``true``/``false``, not Python's ``True``.

    PySpark compares some settings as text (``toPandas`` uses Arrow only when
    ``spark.sql.execution.arrow.pyspark.enabled`` is exactly ``"true"``), so ``True`` would
    silently switch Arrow off and collect every row as a Python object.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SparkHooks:
    """Starts the run's SparkSession and stops it when the run ends, if it started it."""

    def __init__(self) -> None:
        self._spark_conf: dict[str, Any] = {}
        self._app_name = "fraud-detection"
        self._owned: SparkSession | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            self._spark_conf = dict(context.config_loader["spark"])
        except (KeyError, MissingConfigException):
            self._spark_conf = {}
        self._app_name = context.project_path.name

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        existed = SparkSession.getActiveSession() is not None
        spark = build_spark_session(self._spark_conf, self._app_name)
        self._owned = None if existed else spark
        logger.info("Spark %s, master %s", spark.version, spark.conf.get("spark.master", "remote"))

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._stop()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._owned is not None:
            self._owned.stop()
            self._owned = None
