"""One SparkSession per Kedro run, built from ``conf/<env>/spark.yml``.

Nodes never build a session: they receive Spark DataFrames from the catalog. The hook
starts the session before the pipeline runs and stops it afterwards, but only if it created
it, so a session that already exists (a notebook, a test run, Databricks) is reused and kept.

A local session (``local[*]``) gets what ``make`` used to set for it, so that
``.venv/bin/kedro run`` behaves the same without it: ``SPARK_LOCAL_IP=127.0.0.1`` (no
"hostname resolves to a loopback address" warning, nothing listening beyond this machine)
and ``PYSPARK_PYTHON`` = the running interpreter (Python workers with the project's
packages), each unless already set. A session the hook starts logs through the project's
log4j configuration (:data:`LOG4J2_PROPERTIES`): warnings on the console without Java
stacks, everything with stacks in ``logs/spark.log``.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
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


LOG_DIR_PROPERTY = "fraud_detection.log_dir"
# Spark's own defaults (org/apache/spark/log4j2-defaults.properties), except: the console
# shows one line per event, no Java stack (they are in logs/spark.log, rewritten each run);
# a failed task's errors go to the file only (the driver's exception reports them once);
# the native-hadoop start-up warning is not shown.
LOG4J2_PROPERTIES = f"""\
rootLogger.level = warn
rootLogger.appenderRef.console.ref = console
rootLogger.appenderRef.file.ref = file
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n
appender.console.layout.alwaysWriteExceptions = false
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${{sys:{LOG_DIR_PROPERTY}}}/spark.log
appender.file.append = false
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.additivity = false
logger.executor.appenderRef.file.ref = file
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.additivity = false
logger.tasks.appenderRef.file.ref = file
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.jetty.name = org.sparkproject.jetty
logger.jetty.level = warn
logger.jetty2.name = org.sparkproject.jetty.util.component.AbstractLifeCycle
logger.jetty2.level = error
logger.parquet.name = org.apache.parquet.CorruptStatistics
logger.parquet.level = error
"""


class SparkMasterUnavailableError(RuntimeError):
    """A standalone Spark master does not accept connections; raised before the JVM starts."""


def build_spark_session(spark_conf: dict[str, Any], app_name: str,
                        log_dir: Path | None = None) -> SparkSession:
    """Get or create the session; every ``spark.*`` key of the config passes through.

    ``spark.master`` defaults to ``local[*]`` unless Spark Connect (``SPARK_REMOTE``) is set,
    a session is already active, or the run is on Databricks (``DATABRICKS_RUNTIME_VERSION``):
    a cluster-provided session keeps its master. A ``null`` value drops the key, so an
    environment can remove a base setting its cluster owns (``spark.driver.memory: null``).
    A session started here gets the local defaults of :func:`local_defaults` and, with
    ``log_dir``, the project's log4j configuration (:func:`project_logging`).
    """
    conf = {str(k): _conf_value(v) for k, v in (spark_conf or {}).items() if v is not None}
    builder = SparkSession.builder.appName(app_name)
    if os.environ.get("SPARK_REMOTE"):
        conf.pop("spark.master", None)
        builder = builder.remote(os.environ["SPARK_REMOTE"])
    elif SparkSession.getActiveSession() is None and not os.environ.get(ON_DATABRICKS):
        conf.setdefault("spark.master", DEFAULT_MASTER)
        check_master_reachable(conf["spark.master"])
        local_defaults(conf)
        if log_dir is not None:
            project_logging(conf, log_dir)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_defaults(conf: dict[str, str]) -> None:
    """For a local master, the environment ``make`` sets, unless the user set it: bind
    Spark to the loopback address (Spark warns, then binds to another interface, when the
    host name resolves to 127.0.0.1) and start Python workers with this interpreter (not
    the first ``python3`` on ``PATH``, which may lack the project's packages). A cluster
    master keeps both as they are: its executors must reach the driver, and run their own
    Python (``spark.pyspark.python``)."""
    if not conf.get("spark.master", "").startswith("local"):
        return
    if not {"spark.driver.host", "spark.driver.bindAddress"} & conf.keys():
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def project_logging(conf: dict[str, str], log_dir: Path) -> None:
    """Point the driver's log4j at :data:`LOG4J2_PROPERTIES` (written to ``log_dir``), unless
    the user configured log4j already (``-Dlog4j2.configurationFile`` in the driver's Java
    options, or a ``log4j2.properties`` in ``SPARK_CONF_DIR``)."""
    options = conf.get("spark.driver.extraJavaOptions", "")
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    if "log4j" in options or (conf_dir and (Path(conf_dir) / "log4j2.properties").exists()):
        return
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        properties = log_dir / "spark-log4j2.properties"
        properties.write_text(LOG4J2_PROPERTIES)
    except OSError as error:
        logger.warning("Spark logs with its defaults: cannot write to %s (%s)", log_dir, error)
        return
    conf["spark.driver.extraJavaOptions"] = (
        f'{options} -Dlog4j2.configurationFile="{properties.resolve().as_uri()}" '
        f'-D{LOG_DIR_PROPERTY}="{log_dir.resolve()}"'
    ).strip()


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
        self._log_dir: Path | None = None
        self._owned: SparkSession | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        try:
            self._spark_conf = dict(context.config_loader["spark"])
        except (KeyError, MissingConfigException):
            self._spark_conf = {}
        self._app_name = context.project_path.name
        self._log_dir = Path(context.project_path) / "logs"

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any]) -> None:
        existed = SparkSession.getActiveSession() is not None
        spark = build_spark_session(self._spark_conf, self._app_name, self._log_dir)
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
