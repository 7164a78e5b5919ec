"""One ``kedro run`` of the training pipeline in a scratch project, timed node by node.

Run by ``benchmarks.run`` in a fresh process (``python -m benchmarks.kedro_run``), so the
measured time includes the JVM and SparkSession start, as a user's ``kedro run`` does.

Two hook plugins mark when each node starts (its first input load) and ends (its last
output saved, after every other hook): Spark is lazy, so a node's real work happens in its
actions and in the saves of its outputs, and the node time includes both. Every other hook
implementation (Spark session, MLflow tracking, provenance) is wrapped with a timer, which
attributes the tracking and provenance overhead to the hook and the node it ran in.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

TRAINING = ("split", "aggregate", "train")


class _Outer:
    """First on every ``before_*`` hook, last on every ``after_*`` hook."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.nodes: dict[str, dict[str, float]] = {}
        self.pipeline: dict[str, float] = {}
        self.jvm: dict[str, float] | None = None

    def _node(self, node) -> dict[str, float]:
        return self.nodes.setdefault(node.name, {"start": self.clock()})

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self) -> None:
        self.pipeline["setup_start"] = self.clock()

    @hook_impl(tryfirst=True)
    def before_dataset_loaded(self, node) -> None:
        self._node(node)

    @hook_impl(trylast=True)
    def after_node_run(self, node) -> None:
        self._node(node)["end"] = self.clock()

    @hook_impl(trylast=True)
    def after_dataset_saved(self, node) -> None:
        self._node(node)["end"] = self.clock()

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self.pipeline["teardown_start"] = self.clock()
        self.jvm = jvm_counters()  # before the Spark hook stops the session


class _Inner:
    """Last on ``before_node_run``, first on ``after_node_run``: the node function alone."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.function: dict[str, list[float]] = {}

    @hook_impl(trylast=True)
    def before_pipeline_run(self) -> None:
        self.setup_end = self.clock()

    @hook_impl(trylast=True)
    def before_node_run(self, node) -> None:
        self.function[node.name] = [self.clock()]

    @hook_impl(tryfirst=True)
    def after_node_run(self, node) -> None:
        self.function[node.name].append(self.clock())


def jvm_counters() -> dict[str, float] | None:
    """Seconds the driver JVM has spent in its JIT compiler threads and in garbage collection.

    From the JVM's own management beans (compilation time summed over the compiler threads,
    collection time over the collectors); None without a local JVM (Spark Connect).
    """
    from pyspark.sql import SparkSession

    jvm = getattr(SparkSession.getActiveSession(), "_jvm", None)
    if jvm is None:
        return None
    beans = jvm.java.lang.management.ManagementFactory
    collectors = beans.getGarbageCollectorMXBeans()
    return {
        "jit_seconds": beans.getCompilationMXBean().getTotalCompilationTime() / 1000,
        "gc_seconds": sum(gc.getCollectionTime() for gc in collectors) / 1000,
        "uptime_seconds": beans.getRuntimeMXBean().getUptime() / 1000,
    }


def time_hook_impls(manager, skip: tuple, clock) -> list[tuple[str, float, float]]:
    """Wrap every hook implementation (but ``skip``) to record (name, start, end) calls."""
    calls: list[tuple[str, float, float]] = []

    def timed(name: str, function):
        if inspect.isgeneratorfunction(function):  # a hook wrapper: time both of its halves
            return timed_wrapper(name, function)

        def wrapper(*args, **kwargs):
            start = clock()
            try:
                return function(*args, **kwargs)
            finally:
                calls.append((name, start, clock()))
        return wrapper

    def timed_wrapper(name: str, function):
        def step(generator, how, value=None):
            start = clock()
            try:
                return how(value) if how is not next else next(generator)
            finally:
                calls.append((name, start, clock()))

        def wrapper(*args, **kwargs):
            generator = function(*args, **kwargs)
            first = step(generator, next)  # up to the wrapper's yield
            try:
                sent = yield first
            except BaseException as error:  # an inner hook failed: the wrapper sees it
                try:
                    step(generator, generator.throw, error)
                except StopIteration as stop:
                    return stop.value
                raise
            try:
                step(generator, generator.send, sent)
            except StopIteration as stop:
                return stop.value
            raise RuntimeError(f"hook wrapper {name} yielded twice")
        return wrapper

    for hook_name, caller in vars(manager.hook).items():
        if not hasattr(caller, "get_hookimpls"):
            continue
        for impl in caller.get_hookimpls():
            if isinstance(impl.plugin, skip):
                continue
            impl.function = timed(f"{type(impl.plugin).__name__}.{hook_name}", impl.function)
    return calls


def node_pipelines() -> dict[str, str]:
    from kedro.framework.project import pipelines

    return {node.name: name for name in TRAINING for node in pipelines[name].nodes}


def run(project: Path, env: str, tracking: bool) -> dict[str, Any]:
    clock = time.perf_counter
    started = clock()
    bootstrap_project(project)
    with KedroSession.create(project_path=project, env=env) as session:
        manager = session._hook_manager  # private: the benchmark instruments the hooks
        if not tracking:  # provenance off too: the run without any tracking work
            for plugin in list(manager.get_plugins()):
                if type(plugin).__name__ == "ProvenanceHook":
                    manager.unregister(plugin)
        outer, inner = _Outer(clock), _Inner(clock)
        calls = time_hook_impls(manager, (_Outer, _Inner), clock)
        manager.register(outer)
        manager.register(inner)
        created = clock()
        session.run()
        finished = clock()
    closed = clock()
    return summarise(outer, inner, calls, started, created, finished, closed)


def summarise(outer: _Outer, inner: _Inner, calls, started, created, finished,
              closed) -> dict[str, Any]:
    owners = node_pipelines()
    hooks: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "seconds": 0.0})
    for name, start, end in calls:
        hooks[name]["calls"] += 1
        hooks[name]["seconds"] += end - start
    nodes = []
    for name, span in outer.nodes.items():
        inside = [(n, s, e) for n, s, e in calls if s >= span["start"] and e <= span["end"]]
        function = inner.function.get(name, [0.0, 0.0])
        nodes.append({
            "node": name,
            "pipeline": owners.get(name, "?"),
            "seconds": round(span["end"] - span["start"], 3),
            "function_seconds": round(function[1] - function[0], 3),
            "tracking_hook_seconds": round(sum(
                e - s for n, s, e in inside if n.split(".")[0] != "SparkHooks"), 3),
        })
    teardown = outer.pipeline.get("teardown_start", finished)
    return {
        "session_create_seconds": round(created - started, 3),
        "run_seconds": round(finished - created, 3),
        "total_seconds": round(closed - started, 3),
        "setup_seconds": round(inner.setup_end - outer.pipeline["setup_start"], 3),
        "teardown_seconds": round(finished - teardown, 3),
        "spark_start_seconds": round(hooks["SparkHooks.before_pipeline_run"]["seconds"], 3),
        "jvm": outer.jvm,
        "nodes": nodes,
        "hooks": {k: {"calls": v["calls"], "seconds": round(v["seconds"], 3)}
                  for k, v in sorted(hooks.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--env", default="local")
    parser.add_argument("--no-tracking", action="store_true")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    result = run(args.project.resolve(), args.env, tracking=not args.no_tracking)
    import fraud_detection

    result.update({"env": args.env, "tracking": not args.no_tracking,
                   "code": str(Path(fraud_detection.__file__).parent)})
    args.result.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
