"""Online scoring benchmark: the JVM-free pyfunc and the Spark flavor of one fitted model.

``make bench-serve`` (``python -m benchmarks.serve``): fits the pipeline's model on the
generator's rows (conf/base parameters), saves it twice from the same fitted stages, with the
project's online flavor (what every registered version serves) and with ``mlflow.spark``
alone (Spark's own pyfunc, which starts a JVM), serves each with
``mlflow models serve --env-manager local`` in turn, and measures: seconds from the command
to the first answer, p50/p99 latency of 1-row and 100-row HTTP requests (sequential, one
client), and the server's memory (RSS of its whole process tree, JVM included). The online
flavor receives raw rows; the Spark flavor the same transactions' model input columns.
Results: benchmarks/results/serving.json and serving.md. Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import yaml

from benchmarks import REPO

RESULTS = REPO / "benchmarks" / "results"
CONF = REPO / "conf" / "base"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_models(folder: Path, n_rows: int) -> dict[str, Any]:
    """Fit once; save the online and the Spark-only model; the requests for each."""
    import mlflow.spark
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from fraud_detection.ml.model_input import model_input_columns
    from fraud_detection.parameters import AggregateParams, TrainParams
    from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
    from fraud_detection.pipelines.data_generation.nodes import generate_transactions
    from fraud_detection.pipelines.train.nodes import fit_model, split_train_test
    from fraud_detection.schema import RAW_COLUMNS
    from fraud_detection.tracking import online_flavor
    from fraud_detection.tracking.model_logging import model_signature

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    generation = yaml.safe_load((CONF / "parameters_data_generation.yml").read_text())
    rows = generate_transactions({**generation["data_generation"], "n_rows": n_rows})
    raw = spark.createDataFrame(rows).select(
        *(F.col(name).cast(kind).alias(name) for name, kind in RAW_COLUMNS.items()))
    tolerance = yaml.safe_load((CONF / "parameters_aggregate.yml").read_text())[
        "aggregate"]["balance_tolerance"]
    table = build_model_input_table(raw, AggregateParams(balance_tolerance=tolerance)).cache()
    params = TrainParams.model_validate(
        yaml.safe_load((CONF / "parameters_train.yml").read_text())["train"])
    train, _ = split_train_test(table, params)
    model = fit_model(train, params)
    scope = tuple(params.transaction_types)
    online_flavor.save_model(
        model, str(folder / "online"),
        online_settings=online_flavor.OnlineSettings(tolerance, transaction_types=scope),
        signature=online_flavor.raw_signature(), pip_requirements=[])
    mlflow.spark.save_model(model, str(folder / "spark"),
                            signature=model_signature(model, table), pip_requirements=[])
    picked = table.where(F.col("type").isin(*scope)).orderBy("nameOrig", "step").limit(100)
    picked = picked.toPandas()
    spark.stop()
    raw_rows = picked[[c for c in RAW_COLUMNS if c != "isFraud"]]
    feature_rows = picked[model_input_columns(model)]
    return {"online": _requests(raw_rows), "spark": _requests(feature_rows),
            "tree_nodes": len(json.loads((folder / "online/online/pipeline.json").read_text())
                              ["pipeline"]["nodes"])}


def _requests(rows) -> dict[str, bytes]:
    def body(frame) -> bytes:
        return json.dumps({"dataframe_split": json.loads(
            frame.to_json(orient="split", index=False))}).encode()
    return {"1": body(rows.head(1)), "100": body(rows)}


def _post(url: str, body: bytes) -> float:
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": "application/json"})
    began = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        assert response.status == 200
    return time.perf_counter() - began


def _tree_rss(pid: int) -> tuple[int, int]:
    """RSS of the whole process tree (the ``mlflow`` command, its shell, the uvicorn worker
    and, for Spark, the JVM) and of its largest process."""
    root = psutil.Process(pid)
    sizes = []
    for process in [root, *root.children(recursive=True)]:
        try:
            sizes.append(process.memory_info().rss)
        except psutil.NoSuchProcess:
            pass
    return sum(sizes), max(sizes)


def measure(model_dir: Path, requests: dict[str, bytes], n_one: int, n_hundred: int,
            log: Path) -> dict[str, Any]:
    """Serve ``model_dir``; start-to-first-answer, latency percentiles, memory."""
    port, bin_dir = _free_port(), Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1",
           "MLFLOW_TRACKING_URI": f"sqlite:///{log.parent / 'mlflow.db'}"}
    url = f"http://127.0.0.1:{port}/invocations"
    began = time.perf_counter()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir),
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = _first_answer(url, requests["1"], process, began, log)
        one = [_post(url, requests["1"]) for _ in range(n_one)]
        hundred = [_post(url, requests["100"]) for _ in range(n_hundred)]
        memory, largest = _tree_rss(process.pid)
        java = any("java" in p.name() for p in psutil.Process(process.pid).children(
            recursive=True))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    return {
        "start_to_first_answer_s": round(ready, 2),
        "one_row_ms": _percentiles(one), "hundred_rows_ms": _percentiles(hundred),
        "requests": {"one_row": n_one, "hundred_rows": n_hundred},
        "server_memory_mb": round(memory / 2**20),
        "largest_process_mb": round(largest / 2**20), "java_process": java,
    }


def _first_answer(url: str, body: bytes, process, began: float, log: Path) -> float:
    while time.perf_counter() - began < 600:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
        try:
            _post(url, body)
            return time.perf_counter() - began
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no answer after 600 s:\n{log.read_text()[-2000:]}")


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 2),
            "p99": round(float(np.percentile(ms, 99)), 2)}


def report(result: dict[str, Any]) -> str:
    online, spark = result["flavors"]["online"], result["flavors"]["spark"]
    rows = [
        ("start to first answer (s)", "start_to_first_answer_s", None),
        ("1-row request p50 (ms)", "one_row_ms", "p50"),
        ("1-row request p99 (ms)", "one_row_ms", "p99"),
        ("100-row request p50 (ms)", "hundred_rows_ms", "p50"),
        ("100-row request p99 (ms)", "hundred_rows_ms", "p99"),
        ("server memory, whole process tree (MB)", "server_memory_mb", None),
        ("largest process of the tree (MB)", "largest_process_mb", None),
        ("java process in the tree", "java_process", None),
    ]
    lines = ["# Online scoring: JVM-free pyfunc vs Spark flavor of the same model", "",
             (f"`make bench-serve`; {result['machine']}; model fitted on "
              f"{result['n_rows']:,} generated rows ({result['tree_nodes']} tree nodes); "
              "sequential requests from one client."), "",
             "| | online flavor (python_function) | Spark flavor |", "|---|---|---|"]
    for label, key, sub in rows:
        a, b = online[key], spark[key]
        if sub:
            a, b = a[sub], b[sub]
        lines.append(f"| {label} | {a} | {b} |")
    speedup = spark["one_row_ms"]["p50"] / online["one_row_ms"]["p50"]
    lines += ["", f"1-row p50: the online flavor is {speedup:.0f} times faster.",
              f"Requests per flavor: {online['requests']} / {spark['requests']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="generated training rows")
    parser.add_argument("--requests", type=int, default=200, help="1-row requests per flavor")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        folder = Path(tmp)
        built = build_models(folder, args.rows)
        flavors = {}
        for name, n_one, n_hundred in (("online", args.requests, args.requests // 4),
                                       ("spark", max(args.requests // 5, 10),
                                        max(args.requests // 10, 5))):
            flavors[name] = measure(folder / name, built[name], n_one, n_hundred,
                                    folder / f"{name}.log")
            print(name, flavors[name], flush=True)
    result = {"n_rows": args.rows, "tree_nodes": built["tree_nodes"], "flavors": flavors,
              "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
                         f"{platform.python_version()}"}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serving.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "serving.md").write_text(report(result))
    print(report(result))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
