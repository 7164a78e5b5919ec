"""The JVM class archive: built by running the project's own pipelines and configuration, used
by the driver spark.yml starts.

The archive is checked with ``-Xshare:on``, which makes a JVM refuse to start when it cannot
map the archive, instead of silently ignoring it as the project's setting does.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap

import pytest
from kedro.config import OmegaConfigLoader

from fraud_detection import settings
from tests.kedro_project import REPO
from tooling.jvm_archive import (
    ARCHIVE_NAME,
    JAVA_OPTIONS,
    WORKLOAD_PARAMETERS,
    build,
    default_archive,
    workload_project,
)

_SPARK_WITH = textwrap.dedent("""
    import sys
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[1]")
             .config("spark.driver.extraJavaOptions", sys.argv[1])
             .config("spark.ui.enabled", "false").getOrCreate())
    print("rows", spark.range(5).count())
""")


def _spark_starts_with(java_options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SPARK_WITH, java_options],
                          capture_output=True, text=True, timeout=300, check=False)


def _loader(conf, env: str) -> OmegaConfigLoader:
    return OmegaConfigLoader(conf_source=str(conf), env=env, **settings.CONFIG_LOADER_ARGS)


@pytest.mark.integration
def test_archive_is_built_and_a_spark_driver_maps_it(tmp_path):
    archive = build(tmp_path / ARCHIVE_NAME)
    assert archive.stat().st_size > 10_000_000
    assert list(tmp_path.iterdir()) == [archive], "no partial archive, no scratch project"
    started = _spark_starts_with(f"-XX:+UseParallelGC -XX:SharedArchiveFile={archive} "
                                 "-Xshare:on")
    assert started.returncode == 0 and "rows 5" in started.stdout, started.stderr[-2000:]
    # The check is real: a JVM forced to use an archive that is not there does not start.
    missing = _spark_starts_with(f"-XX:SharedArchiveFile={tmp_path / 'none.jsa'} -Xshare:on")
    assert missing.returncode != 0


def test_the_workload_is_conf_base_made_small_untracked_and_dumping(tmp_path):
    """Only the size, the fraud rate, tracking and the archive option differ from conf/base."""
    partial = tmp_path / "spark classes.jsa.partial"
    project = workload_project(tmp_path / "project", partial)
    base, workload = _loader(project / "conf", "base"), _loader(project / "conf", "local")
    # The developer's conf/local (credentials, their own overrides) is not part of it.
    assert sorted(p.name for p in (project / "conf/local").iterdir()) == [
        "mlflow.yml", "parameters_workload.yml", "spark.yml"]
    expected = copy.deepcopy(base["parameters"])
    expected["data_generation"].update(WORKLOAD_PARAMETERS["data_generation"])
    assert workload["parameters"] == expected
    assert workload["mlflow"] == {**base["mlflow"], "enabled": False}
    assert workload["catalog"] == base["catalog"]

    options = workload["spark"][JAVA_OPTIONS]
    dumping = f' -XX:ArchiveClassesAtExit="{partial}"'
    assert options.endswith(dumping)
    kept = [option for option in base["spark"][JAVA_OPTIONS].split()
            if not option.startswith("-XX:SharedArchiveFile=")]
    assert options.removesuffix(dumping).split() == kept
    assert {**workload["spark"], JAVA_OPTIONS: None} == {**base["spark"], JAVA_OPTIONS: None}


def test_base_spark_settings_point_the_driver_at_the_environment_archive():
    options = _loader(REPO / "conf", "local")["spark"][JAVA_OPTIONS]
    assert f'-XX:SharedArchiveFile="{default_archive()}"' in options
    assert str(default_archive()).startswith(sys.prefix)
