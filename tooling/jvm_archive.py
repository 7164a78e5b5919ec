"""A class-data-sharing (CDS) archive of the JVM classes a pipeline run loads.

A fresh Spark driver JVM spends seconds loading and verifying thousands of classes, one by
one, before and while the first jobs run. Java 17 can dump the classes a run loaded into an
archive file (``-XX:ArchiveClassesAtExit``) that later JVMs map in one go
(``-XX:SharedArchiveFile``): on 2 cores a Spark start goes from about 8 s to about 5 s.

``make install`` builds the archive once per environment, next to the interpreter
(``<sys.prefix>/spark-classes.jsa``, i.e. inside ``.venv``), where ``conf/base/spark.yml``
points the driver. The workload is the project itself: a scratch copy of its
``conf/`` runs the ``data_generation`` pipeline and the training run (``kedro run``) on a
few thousand generated rows, with conf/base's parameters and Spark settings; only the size,
the fraud rate, tracking (off) and the archive option are changed, in the copy's
``conf/local``. A missing or stale archive (another JDK, another pyspark) is ignored by the
JVM, silently, so the setting is safe everywhere::

    python -m tooling.jvm_archive            # builds <sys.prefix>/spark-classes.jsa
    python -m tooling.jvm_archive PATH
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from tooling import REPO

ARCHIVE_NAME = "spark-classes.jsa"
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# A few thousand rows load the classes a full-size run loads; a higher fraud rate gives
# them enough frauds on both sides of the train/test split to train and evaluate.
WORKLOAD_PARAMETERS = {"data_generation": {"n_rows": 3000, "fraud_rate": 0.05}}
# The archive an existing JVM option points at, quoted or not.
_SHARED_ARCHIVE = re.compile(r'-XX:SharedArchiveFile=("[^"]*"|\S+)')
_WORKLOAD = "--workload"


def default_archive() -> Path:
    """Where ``conf/base/spark.yml`` looks for the archive: ``${python_prefix:}``."""
    return Path(sys.prefix) / ARCHIVE_NAME


def build(archive: Path, repo: Path = REPO) -> Path:
    """Run the workload in a fresh JVM that dumps its classes to ``archive`` when it exits.

    The archive is written next to its final name and moved there only when complete, so a
    failed build never leaves a truncated archive behind.
    """
    archive = archive.resolve()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="jvm-archive-") as tmp:
        project = workload_project(Path(tmp) / "project", partial, repo)
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
            "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
        command = [sys.executable, "-m", "tooling.jvm_archive", _WORKLOAD, str(project)]
        subprocess.run(command, check=True, cwd=project, env=environment)
    if not partial.is_file():
        raise RuntimeError(f"the JVM wrote no class archive to {partial}; is it Java 17+?")
    partial.replace(archive)
    return archive


def workload_project(root: Path, partial: Path, repo: Path = REPO) -> Path:
    """A scratch copy of the project (pyproject.toml and ``conf/``, empty data folders) whose
    ``conf/local`` makes the run small, untracked, and dump the driver's classes to
    ``partial``. The code is the installed package, as for any Kedro run."""
    root.mkdir(parents=True)
    shutil.copy(repo / "pyproject.toml", root / "pyproject.toml")
    (root / "src").mkdir()  # Kedro wants the folder
    shutil.copytree(repo / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    for layer in (repo / "data").iterdir():
        if layer.is_dir():
            (root / "data" / layer.name).mkdir(parents=True)
    local = root / "conf" / "local"
    local.mkdir()
    _write_yaml(local / "parameters_workload.yml", WORKLOAD_PARAMETERS)
    _write_yaml(local / "mlflow.yml", {"enabled": False})
    _write_yaml(local / "spark.yml", {JAVA_OPTIONS: dumping_options(repo, partial)})
    return root


def dumping_options(repo: Path, partial: Path) -> str:
    """conf/base's driver JVM options, dumping the loaded classes to ``partial`` at exit
    instead of mapping the archive (a JVM cannot do both with one dynamic archive)."""
    from fraud_detection import settings  # the project's loader arguments and resolvers

    args = {**settings.CONFIG_LOADER_ARGS, "base_env": "base", "default_run_env": "base"}
    loader = settings.CONFIG_LOADER_CLASS(conf_source=str(repo / "conf"), env="base", **args)
    options = _SHARED_ARCHIVE.sub("", str(loader["spark"].get(JAVA_OPTIONS, "")))
    return " ".join([*options.split(), f'-XX:ArchiveClassesAtExit="{partial}"'])


def _write_yaml(path: Path, content: dict) -> None:
    path.write_text(yaml.safe_dump(content, sort_keys=False))


def _workload(project: Path) -> None:
    """``kedro run`` of data generation and training in the scratch project, then the JVM's
    exit, which writes the archive."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from pyspark import SparkContext

    from fraud_detection.pipeline_registry import TRAINING

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="local") as session:
        session.run(pipeline_names=["data_generation", *TRAINING])
    jvm = SparkContext._gateway.proc  # the driver JVM pyspark launched; the run stopped Spark
    jvm.stdin.close()  # the JVM exits at end of input, writing the archive on its way out
    jvm.wait(timeout=300)


if __name__ == "__main__":
    if sys.argv[1:2] == [_WORKLOAD]:
        _workload(Path(sys.argv[2]))
    else:
        print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else default_archive()))
