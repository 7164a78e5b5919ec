"""A class-data-sharing (CDS) archive of the JVM classes a pipeline run loads.

A fresh Spark driver JVM spends seconds loading and verifying thousands of classes, one by
one, before and while the first jobs run. Java 17 can dump the classes a run loaded into an
archive file (``-XX:ArchiveClassesAtExit``) that later JVMs map in one go
(``-XX:SharedArchiveFile``): on 2 cores a Spark start goes from about 8 s to about 5 s.

``make install`` builds the archive once per environment, next to the interpreter
(``<sys.prefix>/spark-classes.jsa``, i.e. inside ``.venv``), by running the project's own
node functions on a few thousand generated rows in a child process; ``conf/base/spark.yml``
points the driver at it. A missing or stale archive (another JDK, another pyspark) is
ignored by the JVM, silently, so the setting is safe everywhere::

    python -m fraud_detection.jvm_archive            # builds <sys.prefix>/spark-classes.jsa
    python -m fraud_detection.jvm_archive PATH
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ARCHIVE_NAME = "spark-classes.jsa"
# The JVM lists every class it cannot archive, and warns when an archive does not match it.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
_WORKLOAD = "--workload"


def default_archive() -> Path:
    """Where ``conf/base/spark.yml`` looks for the archive: ``${python_prefix:}``."""
    return Path(sys.prefix) / ARCHIVE_NAME


def build(archive: Path) -> Path:
    """Run the workload in a fresh JVM that dumps its classes to ``archive`` when it exits.

    The archive is written next to its final name and moved there only when complete, so a
    failed build never leaves a truncated archive behind.
    """
    archive = archive.resolve()
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    partial.unlink(missing_ok=True)
    command = [sys.executable, "-m", "fraud_detection.jvm_archive", _WORKLOAD, str(partial)]
    subprocess.run(command, check=True)
    if not partial.is_file():
        raise RuntimeError(f"the JVM wrote no class archive to {partial}; is it Java 17+?")
    partial.replace(archive)
    return archive


def _workload(partial: str) -> None:
    """Split, aggregate and train on 3,000 generated rows: the classes a real run loads."""
    from pyspark.sql import SparkSession  # imported here: only the child needs Spark

    from fraud_detection.datasets import RawCsvDataset
    from fraud_detection.parameters import AggregateParams, SplitParams, TrainParams
    from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
    from fraud_detection.pipelines.data_generation.nodes import generate_transactions
    from fraud_detection.pipelines.split.nodes import shard_by_customer, validate_transactions
    from fraud_detection.pipelines.train.evaluation import evaluate_model
    from fraud_detection.pipelines.train.nodes import fit_model, split_train_test

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("jvm-class-archive")
        .config("spark.driver.extraJavaOptions",
                f"-XX:+UseParallelGC -XX:ArchiveClassesAtExit={partial} {QUIET}")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    split = SplitParams(n_shards=2, max_quarantine_fraction=0.01)
    train = TrainParams.model_validate({
        "transaction_types": ["TRANSFER", "CASH_OUT"],
        "split": {"method": "random", "test_fraction": 0.3, "seed": 1},
        "categorical_features": ["type"],
        "numeric_features": ["amount", "errorBalanceOrig", "custPriorAmountMean"],
        "class_weight": "balanced",
        "model": {"max_depth": 3, "max_bins": 16, "min_instances_per_node": 1,
                  "min_info_gain": 0.0, "impurity": "gini", "seed": 1},
        "release": {"group": "archive", "artifact": "archive", "major_minor": "0.0"},
    })
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate_transactions({"n_rows": 3000, "seed": 1, "fraud_rate": 0.05}).to_csv(
            folder / "raw.csv", index=False)
        valid, quarantine, _ = validate_transactions(
            RawCsvDataset(filepath=str(folder)).load(), split)
        quarantine.write.parquet(str(folder / "quarantine"))
        shard_by_customer(valid, split).write.partitionBy("shard").parquet(
            str(folder / "shards"))
        build_model_input_table(valid, AggregateParams(balance_tolerance=0.01)).write.parquet(
            str(folder / "table"))
        train_set, test_set = split_train_test(spark.read.parquet(str(folder / "table")), train)
        model = fit_model(train_set, train)
        evaluate_model(model, train_set, test_set, train)
        model.write().save(str(folder / "model"))
    jvm = spark.sparkContext._gateway.proc  # the driver JVM that pyspark launched
    spark.stop()
    jvm.stdin.close()  # the JVM exits at end of input, writing the archive on its way out
    jvm.wait(timeout=300)


if __name__ == "__main__":
    if sys.argv[1:2] == [_WORKLOAD]:
        _workload(sys.argv[2])
    else:
        print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else default_archive()))
