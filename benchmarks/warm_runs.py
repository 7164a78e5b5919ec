"""The untracked training pipeline several times in one process: how much of a run is the
JVM warming up.

Run by ``benchmarks.run`` (``python -m benchmarks.warm_runs``). Each run is a new Kedro
session, timed as :mod:`benchmarks.kedro_run` times one, as a notebook or ``kedro ipython``
runs the pipeline again: the Spark hook stops the session it started, and the next run
starts a new one in the same JVM. The first run pays for the JVM compiling Spark's code
(and the queries' generated code); the later ones find most of it compiled, which a fresh
process on Java 17 never does, since HotSpot keeps no compiled code between processes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.kedro_run import run as kedro_run
from benchmarks.project import UNTRACKED, clean_outputs


def warm_runs(project: Path, runs: int) -> dict[str, Any]:
    """``runs`` untracked runs; the JIT and GC seconds of each are its own, not cumulative."""
    results: list[dict[str, Any]] = []
    before = {"jit_seconds": 0.0, "gc_seconds": 0.0}
    for _ in range(runs):
        clean_outputs(project)  # every run writes (and finds) only its own versions
        result = kedro_run(project, UNTRACKED, tracking=False)
        jvm = result["jvm"] or {}
        result["jvm_run"] = {key: round(jvm.get(key, 0.0) - before[key], 3) for key in before}
        before = {key: jvm.get(key, 0.0) for key in before}
        results.append(result)
    return {"runs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    args.result.write_text(json.dumps(warm_runs(args.project.resolve(), args.runs), indent=2))


if __name__ == "__main__":
    main()
