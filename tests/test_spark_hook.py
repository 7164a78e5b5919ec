"""The Spark hook: settings pass through, and a session it did not start is never stopped."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from fraud_detection.hooks.spark import (
    SparkHooks,
    SparkMasterUnavailableError,
    build_spark_session,
    check_master_reachable,
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
