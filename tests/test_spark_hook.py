"""The Spark hook: settings pass through, and a session it did not start is never stopped."""

from __future__ import annotations

from types import SimpleNamespace

from fraud_detection.hooks.spark import SparkHooks, build_spark_session


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
