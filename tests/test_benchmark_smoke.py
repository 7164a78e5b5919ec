"""``benchmarks/run.py`` on a few thousand rows, so the benchmark cannot rot.

No timings are checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
ROWS = 5000


def test_benchmark_script_writes_json_and_markdown(tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SPARK_LOCAL_IP": "127.0.0.1",
           "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--rows", str(ROWS), "--fractions", "1.0",
         "--skip", "naive", "--repeat", "2", "--warm-runs", "2",
         "--cache-dir", str(tmp_path / "cache"), "--out-dir", str(out), "--name", "smoke"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    results = json.loads((out / "smoke.json").read_text())
    assert {"machine", "load_average_start", "load_average_end", "sizes", "summary",
            "cpu_reference_seconds_start", "cpu_reference_seconds_end"} <= set(results)
    [size] = results["sizes"]
    assert size["rows"] == ROWS and size["generation"]["cached"] is False
    pipeline = size["pipeline"]
    assert {"process_seconds", "spark_start_seconds", "nodes", "hooks", "peak_memory",
            "evaluation"} <= set(pipeline)
    assert {n["node"] for n in pipeline["nodes"]} >= {
        "validate_transactions", "shard_by_customer", "build_model_input_table", "fit_model",
        "evaluate_model"}
    assert {"python_rss_gib", "jvm_rss_gib", "total_pss_gib"} <= set(pipeline["peak_memory"])
    # Read from the driver JVM before the run stops it: the JIT compiles from the first query.
    jvm = pipeline["jvm"]
    assert jvm["jit_seconds"] > 0 and jvm["gc_seconds"] >= 0
    assert jvm["uptime_seconds"] > jvm["gc_seconds"]
    cpu = pipeline["cpu_seconds_by_process"]
    assert cpu["total"] == pipeline["cpu_seconds"]
    assert cpu["jvm"] > 0 and cpu["python"] > 0
    assert cpu["jvm"] + cpu["python"] <= cpu["total"] + 0.1  # each rounded to 0.1 s
    # DuckDB's translation of the aggregate stage, reading the shards the last pipeline run
    # wrote (the tracked one of the second repetition), gives the same table as Spark.
    assert size["duckdb"]["check"]["matches_spark"], size["duckdb"]["check"]
    summary = results["summary"]
    assert {"sizes", "scaling", "targets"} <= set(summary)
    assert set(summary["targets"]) == {"pipeline_seconds", "aggregate_over_duckdb",
                                       "tracking_overhead_seconds", "peak_memory_gib",
                                       "scaling_exponent"}
    [row] = summary["sizes"]
    assert {"stage_seconds", "stage_rows_per_second", "tracking_hook_seconds",
            "aggregate_over_duckdb"} <= set(row)
    assert (row["jit_seconds"], row["gc_seconds"]) == (jvm["jit_seconds"], jvm["gc_seconds"])
    # Two repetitions, each a pair of a tracked and an untracked run (the tracked one first,
    # then second); the lower of the two tracked runs stands for the size, both are kept.
    assert [run["repetition"] for run in size["pipeline_runs"]] == [1, 2]
    assert [run["repetition"] for run in size["pipeline_untracked_runs"]] == [1, 2]
    assert size["store_init_seconds"] > 0
    # A first run registered the champion that each measured tracked run was compared with,
    # on the same rows: by the score recorded at its registration.
    assert size["first_run"]["process_seconds"] > 0
    assert all("champion v1" in run["registry"]["registry.reason"]
               and run["registry"]["registry.champion_score"] == "recorded"
               for run in size["pipeline_runs"])
    assert pipeline["process_seconds"] == min(r["process_seconds"] for r in size["pipeline_runs"])
    assert row["pipeline_runs_seconds"] == sorted(
        r["process_seconds"] for r in size["pipeline_runs"])
    assert all(run["evaluation"]["auprc"] == pipeline["evaluation"]["auprc"]
               for run in size["pipeline_runs"])
    assert size["pipeline_untracked"]["process_seconds"] > 0
    assert row["cpu_reference_seconds"] > 0
    assert row["tracking_overhead_seconds"] is not None

    # The warm step: two runs in one process, so one JVM (its uptime goes on, its compiler
    # and collector counters only grow: a new JVM would start them again at 0, and the
    # second run's own seconds would come out negative), each run's JIT and GC seconds its
    # own.
    warm_runs = size["warm"]["runs"]
    assert len(warm_runs) == 2
    assert all({n["node"] for n in run["nodes"]} >= {"validate_transactions", "fit_model"}
               for run in warm_runs)
    assert warm_runs[1]["jvm"]["uptime_seconds"] > warm_runs[0]["total_seconds"]
    for counter in ("jit_seconds", "gc_seconds"):
        assert all(run["jvm_run"][counter] >= 0 for run in warm_runs)
    assert warm_runs[0]["jvm_run"]["jit_seconds"] > 0
    assert row["warm"]["cold_seconds"] == warm_runs[0]["total_seconds"]
    assert row["warm"]["warm_seconds"] == warm_runs[1]["total_seconds"]

    text = (out / "smoke.md").read_text()
    assert "CPU reference (a fixed Python loop)" in text
    for heading in ("## Per size", "## Nodes at 5,000 rows",
                    "## One JVM, several runs at 5,000 rows", "## Scaling", "## Targets"):
        assert heading in text
    assert "build_model_input_table" in text
