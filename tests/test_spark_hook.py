"""The Spark hook: settings pass through, and a session it did not start is never stopped."""

from __future__ import annotations

import os
import socket
import sys
from types import SimpleNamespace

import pytest

from fraud_detection.hooks.spark import (
    SparkHooks,
    SparkMasterUnavailableError,
    build_spark_session,
    check_master_reachable,
    local_defaults,
    project_logging,
)


class _Loader(dict):
    pass


def test_existing_session_is_reused_with_runtime_settings_and_kept(spark, tmp_path):
    hooks = SparkHooks()
    context = SimpleNamespace(config_loader=_Loader(spark={"spark.sql.shuffle.partitions": 3}),
                              project_path=tmp_path)
    hooks.after_context_created(context)
    hooks.before_pipeline_run(run_params={})
    assert spark.conf.get("spark.sql.shuffle.partitions") == "3"
    hooks.after_pipeline_run()
    assert spark.range(2).count() == 2  # still alive: the hook did not own it
    spark.conf.set("spark.sql.shuffle.partitions", "4")


def test_build_returns_the_active_session(spark):
    assert build_spark_session({"spark.sql.session.timeZone": "UTC"}, "x") is spark


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_standalone_master_that_does_not_answer_is_named():
    dead = f"spark://127.0.0.1:{closed_port()}"
    with pytest.raises(SparkMasterUnavailableError, match=rf"spark.master {dead} does not answer"):
        check_master_reachable(dead)
    with socket.socket() as master:  # one of a high-availability list answers: enough
        master.bind(("127.0.0.1", 0))
        master.listen()
        check_master_reachable(f"{dead},127.0.0.1:{master.getsockname()[1]}")
    for other in ("local[*]", "yarn", "k8s://https://127.0.0.1:1"):
        check_master_reachable(other)


def test_a_local_session_gets_what_make_sets_unless_the_user_set_it(monkeypatch):
    for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    local_defaults({"spark.master": "local[*]"})
    assert sys.executable == os.environ["PYSPARK_PYTHON"]
    assert os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"

    monkeypatch.setenv("SPARK_LOCAL_IP", "10.1.2.3")
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python")
    local_defaults({"spark.master": "local[2]"})
    assert os.environ["SPARK_LOCAL_IP"] == "10.1.2.3"
    assert os.environ["PYSPARK_PYTHON"] == "/opt/python"


@pytest.mark.parametrize("conf", [{"spark.master": "spark://10.0.0.5:7077"},
                                  {"spark.master": "yarn"},
                                  {"spark.master": "local[*]", "spark.driver.host": "10.0.0.7"}])
def test_a_cluster_or_a_chosen_driver_address_is_left_alone(monkeypatch, conf):
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    local_defaults(conf)
    assert "SPARK_LOCAL_IP" not in os.environ


def test_spark_logs_through_the_project_configuration(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARK_CONF_DIR", raising=False)
    conf = {"spark.driver.extraJavaOptions": "-XX:+UseParallelGC"}
    project_logging(conf, tmp_path / "logs")
    properties = tmp_path / "logs" / "spark-log4j2.properties"
    assert "appender.console.layout.alwaysWriteExceptions = false" in properties.read_text()
    options = conf["spark.driver.extraJavaOptions"]
    assert options.startswith("-XX:+UseParallelGC ")
    assert f'-Dlog4j2.configurationFile="{properties.as_uri()}"' in options
    assert f'-Dfraud_detection.log_dir="{tmp_path / "logs"}"' in options


def test_a_users_log4j_configuration_wins(tmp_path, monkeypatch):
    mine = {"spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=file:/etc/l.xml"}
    project_logging(mine, tmp_path / "a")
    assert mine == {"spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=file:/etc/l.xml"}
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "log4j2.properties").write_text("rootLogger.level = info\n")
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path / "conf"))
    conf: dict[str, str] = {}
    project_logging(conf, tmp_path / "b")
    assert conf == {} and not (tmp_path / "b").exists()
