"""``make bench``: the training pipeline at PaySim scale, next to a naive Spark job and DuckDB.

For each size (fractions of ``--rows``, default 1/4, 1/2 and the full 6,362,620 rows):

1. the project's generator writes the CSV once, cached in ``benchmarks/.cache/data``;
2. ``kedro run`` of the training pipeline in a scratch project with tracking on (MLflow
   SQLite store and artifacts inside the scratch project, where a first run, kept apart,
   registered a champion that every measured run is compared with, as a user's runs are):
   time of every node and hook, rows per second, peak memory of Python and of the JVM;
3. ``kedro run`` again, right before or after, with MLflow tracking and provenance off:
   their overhead;
4. DuckDB computes the same aggregation from the same shards (checked equal);
5. the naive Spark baseline: read the CSV, group by customer, fit a decision tree;
6. at the largest size only, the untracked pipeline ``--warm-runs`` times in one process:
   the first run in a cold JVM, the others in a warm one (``benchmarks.warm_runs``).

Every step is a fresh process. With ``--repeat N``, steps 2 and 3 run N times per size
(in pairs, tracked first in odd repetitions, untracked first in even ones) and the median
run is reported. Results: ``benchmarks/results/<name>.json``
and ``.md``.

    python -m benchmarks.run --repeat 3                        # what make bench runs
    python -m benchmarks.run --rows 5000 --fractions 1 --skip naive,untracked --name smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil

from benchmarks import REPO
from benchmarks.data import cached_csv
from benchmarks.monitor import run_step
from benchmarks.project import (
    UNTRACKED,
    clean_outputs,
    evaluation_metrics,
    new_store,
    registry_decision,
    scratch_project,
)
from benchmarks.report import derive, markdown

PAYSIM_ROWS = 6_362_620
STEPS = ("naive", "duckdb", "untracked", "warm")


def _only_version(folder: Path) -> Path:
    """``<filepath>/<version>/<name>`` of a dataset written once in a clean scratch project."""
    [found] = sorted(folder.glob("*/" + folder.name))
    return found


def bench_size(n_rows: int, args: argparse.Namespace, largest: bool = False) -> dict[str, Any]:
    cache, logs = args.cache_dir, args.cache_dir / "logs" / f"rows_{n_rows}"
    csv_folder, generation = cached_csv(cache, n_rows)
    print(f"[{n_rows:,} rows] data: {generation}", flush=True)
    project = scratch_project(cache / "scratch" / f"rows_{n_rows}", csv_folder, args.spark)
    result: dict[str, Any] = {"rows": n_rows, "csv": str(csv_folder), "generation": generation}

    def step(name: str, module: str, step_args: list[str], required: bool = False
             ) -> dict[str, Any] | None:
        print(f"[{n_rows:,} rows] {name} ...", flush=True)
        reference = cpu_reference_seconds()
        try:
            measured = run_step(module, step_args, logs / f"{name}.json", logs / f"{name}.log")
        except RuntimeError as error:  # a broken comparison is reported, the rest still runs
            if required:
                raise
            print(f"[{n_rows:,} rows] {name} FAILED: {error}", flush=True)
            result.setdefault("errors", {})[name] = str(error)[-2000:]
            return None
        measured["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        measured["cpu_reference_seconds_before"] = reference
        print(f"[{n_rows:,} rows] {name}: {measured.get('process_seconds')} s", flush=True)
        return measured

    # A user's store holds a champion after their first run, and each later run compares
    # the new model with it before the aliases move: a first tracked run in a new store
    # registers one, kept apart, so that every measured tracked run does that work too.
    clean_outputs(project)
    result["store_init_seconds"] = new_store(project)
    result["first_run"] = step("pipeline_first", "benchmarks.kedro_run",
                               ["--project", str(project)], required=True)
    tracked, untracked = [], []

    def run_tracked(attempt: int, suffix: str) -> None:
        run = step(f"pipeline{suffix}", "benchmarks.kedro_run", ["--project", str(project)],
                   required=True)
        run.update(repetition=attempt, evaluation=evaluation_metrics(project),
                   registry=registry_decision(project))
        tracked.append(run)

    def run_untracked(attempt: int, suffix: str) -> None:
        if plain := step(f"pipeline_untracked{suffix}", "benchmarks.kedro_run", [
                "--project", str(project), "--env", UNTRACKED, "--no-tracking"]):
            untracked.append({**plain, "repetition": attempt})

    for attempt in range(1, args.repeat + 1):
        suffix = f"_{attempt}" if args.repeat > 1 else ""
        # The tracked and the untracked run of a repetition follow each other, to meet the
        # nearest machine conditions, tracked first in odd repetitions and second in even
        # ones, so a machine speeding up or slowing down during the benchmark does not
        # count as tracking overhead. DuckDB reads the last run's shards and table.
        pair = [run_tracked] + ([] if "untracked" in args.skip else [run_untracked])
        for run in pair if attempt % 2 else reversed(pair):
            clean_outputs(project)
            run(attempt, suffix)
    # The median run (the lower one of an even count) stands for the size; all are kept.
    result["pipeline"], result["pipeline_runs"] = median_run(tracked), tracked
    if untracked:
        result["pipeline_untracked"] = median_run(untracked)
        result["pipeline_untracked_runs"] = untracked
    if "duckdb" not in args.skip:
        shards = _only_version(project / "data/02_intermediate/transaction_shards")
        table = _only_version(project / "data/04_feature/model_input_table.parquet")
        result["duckdb"] = step("duckdb", "benchmarks.duckdb_aggregate", [
            "--shards", str(shards), "--csv", str(csv_folder), "--spark-table", str(table),
            "--work", str(cache / "scratch" / f"duckdb_{n_rows}")])
        shutil.rmtree(cache / "scratch" / f"duckdb_{n_rows}", ignore_errors=True)
    if "naive" not in args.skip:
        result["naive_spark"] = step("naive_spark", "benchmarks.naive_spark",
                                     ["--csv", str(csv_folder)])
    if largest and "warm" not in args.skip:
        result["warm"] = step("warm", "benchmarks.warm_runs", [
            "--project", str(project), "--runs", str(args.warm_runs)])
    if not args.keep_scratch:
        shutil.rmtree(project, ignore_errors=True)
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose wall time is the median (the lower middle one of an even count)."""
    by_time = sorted(runs, key=lambda run: run["process_seconds"])
    return by_time[(len(by_time) - 1) // 2]


def cpu_reference_seconds(iterations: int = 10_000_000) -> float:
    """Seconds of a fixed single-core Python loop: how fast this machine's CPU is right now.

    Taken before every step: a result measured while it was clearly higher than usual ran
    on a slower CPU. It does not show contention for memory or cores from other tenants of
    a shared machine, so comparisons still need repeated runs.
    """
    started, total = time.perf_counter(), 0
    for i in range(iterations):
        total += i
    return round(time.perf_counter() - started, 2)


def machine() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory.total / 1024**3, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in
                     ("pyspark", "kedro", "kedro-datasets", "mlflow", "pandas", "duckdb")},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=PAYSIM_ROWS,
                        help="full size in rows (default: the Kaggle PaySim file's 6,362,620)")
    parser.add_argument("--fractions", default="0.25,0.5,1.0",
                        help="sizes to run, as fractions of --rows (comma-separated)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of a tracked and an untracked pipeline run per size; the "
                             "median one is reported, every run is kept (default: 1)")
    parser.add_argument("--warm-runs", type=int, default=3,
                        help="runs in one process (one JVM) at the largest size (default: 3)")
    parser.add_argument("--skip", default="",
                        help=f"comma-separated steps to leave out: {', '.join(STEPS)}")
    parser.add_argument("--skip-baselines", action="store_true",
                        help="the same as --skip naive,duckdb")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "benchmarks" / ".cache")
    parser.add_argument("--out-dir", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default="latest", help="results file name, without suffix")
    parser.add_argument("--note", default="", help="free text stored with the results")
    parser.add_argument("--spark", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting over conf/base/spark.yml, to try one (repeatable)")
    parser.add_argument("--keep-scratch", action="store_true",
                        help="keep the scratch projects (outputs, MLflow store) for inspection")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.warm_runs < 2:
        parser.error(f"--warm-runs must be at least 2 (a cold run and a warm one), got "
                     f"{args.warm_runs}")
    args.skip = {s for s in args.skip.split(",") if s}
    if bad := [item for item in args.spark if "=" not in item]:
        parser.error(f"--spark takes KEY=VALUE, got {bad}")
    args.spark = dict(item.split("=", 1) for item in args.spark)
    if args.skip_baselines:
        args.skip |= {"naive", "duckdb"}
    if unknown := args.skip - set(STEPS):
        parser.error(f"--skip: unknown step(s) {sorted(unknown)}; choose from {STEPS}")
    args.fractions = sorted({float(f) for f in args.fractions.split(",") if f})
    if not args.fractions or not all(0 < f <= 1 for f in args.fractions):
        parser.error("--fractions must be numbers in (0, 1], e.g. 0.25,0.5,1.0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks.run",
                             *(argv if argv is not None else sys.argv[1:])]),
        "note": args.note,
        "spark_overrides": args.spark,
        "machine": machine(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "cpu_reference_seconds_start": cpu_reference_seconds(),
        "sizes": [],
    }
    for fraction in args.fractions:
        size = bench_size(max(1, round(args.rows * fraction)), args,
                          largest=fraction == args.fractions[-1])
        results["sizes"].append({"fraction": fraction, **size})
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["cpu_reference_seconds_end"] = cpu_reference_seconds()
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    results["summary"] = derive(results)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = markdown(results)
    (args.out_dir / f"{args.name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
