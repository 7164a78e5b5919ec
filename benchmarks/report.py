"""Derived numbers (stage times, ratios, overhead, scaling, targets) and the Markdown table."""

from __future__ import annotations

import math
import statistics
from typing import Any

STAGES = ("split", "aggregate", "train")
TRACKING_HOOKS = ("MlflowTrackingHook.", "ProvenanceHook.")
# The targets, on 2 cores at the full size.
TARGET_PIPELINE_SECONDS = 60.0
TARGET_AGGREGATE_VS_DUCKDB = 3.0
TARGET_TRACKING_SECONDS = 3.0
TARGET_PEAK_GIB = 6.0
TARGET_SCALING_EXPONENT = 1.0


def _stage_seconds(pipeline: dict[str, Any]) -> dict[str, float]:
    return {stage: round(sum(n["seconds"] for n in pipeline["nodes"] if n["pipeline"] == stage), 2)
            for stage in STAGES}


def _tracking_seconds(pipeline: dict[str, Any]) -> float:
    return round(sum(h["seconds"] for name, h in pipeline["hooks"].items()
                     if name.startswith(TRACKING_HOOKS)), 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _overhead_differences(size: dict[str, Any]) -> list[float]:
    """Per repetition, the tracked minus the untracked run's Kedro session time."""
    untracked = {run["repetition"]: run for run in size.get("pipeline_untracked_runs", [])}
    return [round(run["total_seconds"] - untracked[run["repetition"]]["total_seconds"], 2)
            for run in size["pipeline_runs"] if run["repetition"] in untracked]


def size_summary(size: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one size: those of the median run (see ``run.median_run``)."""
    rows, pipeline = size["rows"], size["pipeline"]
    jvm = pipeline.get("jvm") or {}
    stages = _stage_seconds(pipeline)
    untracked = size.get("pipeline_untracked")
    duckdb, naive = size.get("duckdb"), size.get("naive_spark")
    seconds = pipeline["process_seconds"]
    runs = sorted(run["process_seconds"] for run in size["pipeline_runs"])
    differences = _overhead_differences(size)
    return {
        "rows": rows,
        "pipeline_seconds": seconds,
        "pipeline_runs_seconds": runs,
        "kedro_session_seconds": pipeline["total_seconds"],
        "rows_per_second": round(rows / seconds),
        "spark_start_seconds": pipeline["spark_start_seconds"],
        "stage_seconds": stages,
        "stage_rows_per_second": {s: round(rows / t) if t else None for s, t in stages.items()},
        "tracking_hook_seconds": _tracking_seconds(pipeline),
        "untracked_pipeline_seconds": untracked["process_seconds"] if untracked else None,
        # The median over repetitions of the differences, which are kept beside it.
        "tracking_overhead_seconds": round(statistics.median(differences), 2)
        if differences else None,
        "tracking_overhead_differences": differences,
        "naive_spark_seconds": naive["process_seconds"] if naive else None,
        "naive_spark_over_pipeline": _ratio(naive["process_seconds"], seconds) if naive else None,
        "duckdb_aggregate_seconds": duckdb["aggregate_seconds"] if duckdb else None,
        "aggregate_over_duckdb": _ratio(stages["aggregate"], duckdb["aggregate_seconds"])
        if duckdb else None,
        "duckdb_matches_spark": duckdb["check"]["matches_spark"] if duckdb else None,
        "peak_memory_gib": pipeline["peak_memory"],
        "cpu_seconds": pipeline.get("cpu_seconds"),
        "cpu_seconds_by_process": pipeline["cpu_seconds_by_process"],
        "jit_seconds": jvm.get("jit_seconds"),
        "gc_seconds": jvm.get("gc_seconds"),
        "cpu_reference_seconds": pipeline.get("cpu_reference_seconds_before"),
        "auprc": pipeline.get("evaluation", {}).get("auprc"),
        "warm": _warm_summary(size["warm"]) if size.get("warm") else None,
    }


def _warm_summary(warm: dict[str, Any]) -> dict[str, Any]:
    """Each run of one process (:mod:`benchmarks.warm_runs`): the first in a cold JVM."""
    runs = [{"session_seconds": run["total_seconds"], **run["jvm_run"],
             "stage_seconds": _stage_seconds(run)} for run in warm["runs"]]
    return {"runs": runs, "cold_seconds": runs[0]["session_seconds"],
            "warm_seconds": statistics.median(run["session_seconds"] for run in runs[1:])}


def _total(size: dict[str, Any]) -> float:
    """Peak memory of the whole process tree (PSS; older result files: RSS sum)."""
    peak = size["peak_memory_gib"]
    return peak.get("total_pss_gib", peak.get("total_rss_gib"))


def _exponent(small: dict[str, Any], large: dict[str, Any], key) -> float | None:
    """b in time ~ rows^b between two sizes: 1 is linear, below 1 is better than linear."""
    a, b = key(small), key(large)
    if not a or not b or large["rows"] == small["rows"]:
        return None
    return round(math.log(b / a) / math.log(large["rows"] / small["rows"]), 2)


def derive(results: dict[str, Any]) -> dict[str, Any]:
    sizes = [size_summary(size) for size in results["sizes"]]
    small, large = sizes[0], sizes[-1]
    scaling = {"from_rows": small["rows"], "to_rows": large["rows"],
               "pipeline": _exponent(small, large, lambda s: s["pipeline_seconds"]),
               **{stage: _exponent(small, large, lambda s, st=stage: s["stage_seconds"][st])
                  for stage in STAGES}}
    # Model logging and content digests run in threads beside the nodes, so the time inside
    # the hooks alone understates the cost: the target takes the larger of the two measures.
    tracking = max(large["tracking_hook_seconds"], large["tracking_overhead_seconds"] or 0.0)
    ratio = large["aggregate_over_duckdb"]
    targets = {
        "pipeline_seconds": (large["pipeline_seconds"], f"< {TARGET_PIPELINE_SECONDS:g} s",
                             large["pipeline_seconds"] < TARGET_PIPELINE_SECONDS),
        "aggregate_over_duckdb": (ratio, f"<= {TARGET_AGGREGATE_VS_DUCKDB:g}x",
                                  None if ratio is None else ratio <= TARGET_AGGREGATE_VS_DUCKDB),
        "tracking_overhead_seconds": (tracking, f"< {TARGET_TRACKING_SECONDS:g} s",
                                      tracking < TARGET_TRACKING_SECONDS),
        "peak_memory_gib": (_total(large), f"< {TARGET_PEAK_GIB:g} GiB",
                            _total(large) < TARGET_PEAK_GIB),
        "scaling_exponent": (scaling["pipeline"], f"<= {TARGET_SCALING_EXPONENT:g}",
                             None if scaling["pipeline"] is None
                             else scaling["pipeline"] <= TARGET_SCALING_EXPONENT),
    }
    return {"sizes": sizes, "scaling": scaling,
            "targets": {k: {"measured": v[0], "target": v[1], "met": v[2]}
                        for k, v in targets.items()}}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


def markdown(results: dict[str, Any]) -> str:
    summary, machine = results["summary"], results["machine"]
    large_size = results["sizes"][-1]
    large = summary["sizes"][-1]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    out = [
        "# Training pipeline benchmark",
        "",
        (
            f"{results['started']} · {machine['cpus']} CPUs, {machine['memory_gib']} GiB · "
            f"load average {results['load_average_start']} at start, "
            f"{results['load_average_end']} at end · CPU reference (a fixed Python loop) "
            f"{results.get('cpu_reference_seconds_start', '–')} s at start, "
            f"{results.get('cpu_reference_seconds_end', '–')} s at end · {versions}"
        ),
        "",
        f"`{results['command']}`" + (f" — {results['note']}" if results["note"] else ""),
        "",
        (
            "Seconds are wall time of a fresh process (interpreter, Kedro session, JVM and "
            "Spark start included); with several runs per size (`--repeat`), every column but "
            "`runs s` is the median run's. Tracking = time inside the MLflow and provenance "
            "hooks. CPU s = CPU time of the whole process tree (of the JVM / of the Python "
            "driver); JIT s and GC s = the driver JVM's time in its JIT compiler threads and in "
            "garbage collection (its management beans). CPU ref = seconds of a fixed "
            "single-core Python loop just before the run (higher: a slower CPU then; it does "
            "not show contention from other tenants, so repeat runs to compare)."
        ),
        "",
        "## Per size",
        "",
    ]
    out += _table(
        ["rows", "pipeline s", "runs s", "rows/s", "Spark start s", "split s", "aggregate s",
         "train s", "tracking s", "untracked s", "naive Spark s", "naive / pipeline",
         "DuckDB agg s", "aggregate / DuckDB", "peak GiB total (JVM / Python)",
         "CPU s (JVM / Python)", "JIT s", "GC s", "CPU ref s", "AUPRC"],
        [[s["rows"], s["pipeline_seconds"],
          ", ".join(f"{run:.1f}" for run in s["pipeline_runs_seconds"]),
          s["rows_per_second"], s["spark_start_seconds"],
          s["stage_seconds"]["split"], s["stage_seconds"]["aggregate"],
          s["stage_seconds"]["train"], s["tracking_hook_seconds"],
          s["untracked_pipeline_seconds"], s["naive_spark_seconds"],
          _x(s["naive_spark_over_pipeline"]), s["duckdb_aggregate_seconds"],
          _x(s["aggregate_over_duckdb"]),
          (f"{_total(s):.2f} ({s['peak_memory_gib']['jvm_rss_gib']:.2f}"
           f" / {s['peak_memory_gib']['python_rss_gib']:.2f})"),
          _cpu(s), s["jit_seconds"], s["gc_seconds"], s["cpu_reference_seconds"],
          None if s["auprc"] is None else f"{s['auprc']:.4f}"]
         for s in summary["sizes"]],
    )
    pipeline = large_size["pipeline"]
    out += ["", f"## Nodes at {large['rows']:,} rows", ""]
    node_rows = [["(Spark session start)", "–", pipeline["spark_start_seconds"], None, None]]
    node_rows.append(["(MLflow run start)", "–",
                      pipeline["hooks"].get("MlflowTrackingHook.before_pipeline_run",
                                            {}).get("seconds"), None, None])
    node_rows += [[n["node"], n["pipeline"], n["seconds"],
                   round(large["rows"] / n["seconds"]) if n["seconds"] else None,
                   n["tracking_hook_seconds"]] for n in pipeline["nodes"]]
    node_rows.append(["(run end: Spark stop, records)", "–", pipeline["teardown_seconds"],
                      None, None])
    out += _table(["node", "pipeline", "seconds", "rows/s", "of which tracking s"], node_rows)
    hooks = sorted(pipeline["hooks"].items(), key=lambda kv: -kv[1]["seconds"])
    out += ["", "Hooks (calls, seconds): " + ", ".join(
        f"{name} {h['calls']}× {h['seconds']:.2f}" for name, h in hooks if h["seconds"] >= 0.01)]
    if large["warm"]:
        out += _warm_section(large["rows"], large["warm"])
    scaling = summary["scaling"]
    out += ["", "## Scaling", "",
            f"Time ~ rows^b from {scaling['from_rows']:,} to {scaling['to_rows']:,} rows "
            "(b = 1 is linear): " + ", ".join(
                f"{k} {_fmt(scaling[k], 2)}" for k in ("pipeline", "split", "aggregate", "train"))]
    out += ["", f"## Targets at {large['rows']:,} rows", ""]
    out += _table(["target", "measured", "wanted", "met"],
                  [[name, v["measured"] if not isinstance(v["measured"], float)
                    else f"{v['measured']:.2f}", v["target"], v["met"]]
                   for name, v in summary["targets"].items()])
    out += ["", "Tracking overhead: the larger of the time spent inside the MLflow and "
            f"provenance hooks ({large['tracking_hook_seconds']:.1f} s; model logging and "
            "content digests run in threads beside the nodes and count only where the run "
            "waits for them)" + (
                " and the tracked minus the untracked run's Kedro session time, the median "
                "over repetitions "
                f"({large['tracking_overhead_seconds']:.2f} s of "
                f"{', '.join(f'{d:.2f}' for d in large['tracking_overhead_differences'])}; "
                "noisy when other processes share the CPUs)."
                if large["tracking_overhead_seconds"] is not None else ".")]
    return "\n".join(out) + "\n"


def _warm_section(rows: int, warm: dict[str, Any]) -> list[str]:
    about = (
        "The untracked pipeline run again in one process, as a notebook or `kedro ipython` "
        "does: run 1 starts the JVM; each later run starts a new Spark session in the same "
        "JVM, whose compiled code it finds. A fresh `kedro run` is always a run 1: Java 17 "
        "keeps no compiled code between processes. Seconds of the Kedro session (the "
        "interpreter's own start not included); JIT s and GC s are each run's own."
    )
    out = ["", f"## One JVM, several runs at {rows:,} rows", "", about, ""]
    out += _table(["run", "session s", "JIT s", "GC s", "split s", "aggregate s", "train s"],
                  [[i, run["session_seconds"], run["jit_seconds"], run["gc_seconds"],
                    *(run["stage_seconds"][stage] for stage in STAGES)]
                   for i, run in enumerate(warm["runs"], start=1)])
    cold, warm_seconds = warm["cold_seconds"], warm["warm_seconds"]
    out += ["", f"Cold {cold:.1f} s, warm {warm_seconds:.1f} s (the median of the later runs)."]
    return out


def _cpu(size: dict[str, Any]) -> str:
    """Total CPU seconds, and the JVM's and the Python driver's."""
    split = size["cpu_seconds_by_process"]
    return f"{split['total']:.1f} ({split['jvm']:.1f} / {split['python']:.1f})"


def _x(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}x"
