"""The JVM class archive: built by the project's workload, used by the driver spark.yml starts.

The archive is checked with ``-Xshare:on``, which makes a JVM refuse to start when it cannot
map the archive, instead of silently ignoring it as the project's setting does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from kedro.config import OmegaConfigLoader

from fraud_detection import settings
from fraud_detection.jvm_archive import ARCHIVE_NAME, build, default_archive
from tests.kedro_project import REPO

pytestmark = pytest.mark.integration

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


def test_archive_is_built_and_a_spark_driver_maps_it(tmp_path):
    archive = build(tmp_path / ARCHIVE_NAME)
    assert archive.stat().st_size > 10_000_000
    assert not list(tmp_path.glob("*.partial"))
    started = _spark_starts_with(f"-XX:+UseParallelGC -XX:SharedArchiveFile={archive} "
                                 "-Xshare:on")
    assert started.returncode == 0 and "rows 5" in started.stdout, started.stderr[-2000:]
    # The check is real: a JVM forced to use an archive that is not there does not start.
    missing = _spark_starts_with(f"-XX:SharedArchiveFile={tmp_path / 'none.jsa'} -Xshare:on")
    assert missing.returncode != 0


def test_base_spark_settings_point_the_driver_at_the_environment_archive():
    loader = OmegaConfigLoader(conf_source=str(REPO / "conf"), env="local",
                               **settings.CONFIG_LOADER_ARGS)
    options = loader["spark"]["spark.driver.extraJavaOptions"]
    assert f'-XX:SharedArchiveFile="{default_archive()}"' in options
    assert str(default_archive()).startswith(sys.prefix)
