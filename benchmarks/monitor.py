"""Run a benchmark step in its own process and sample its memory while it runs.

Every step (a Kedro run, the naive Spark job, DuckDB) is a fresh process, so each one pays
its own interpreter and JVM start, and its peak memory is its own. A thread samples the RSS
of the process tree with psutil: the Python driver, and the JVM (``java``) Spark launched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks import REPO

GIB = 1024**3


def child_environment() -> dict[str, str]:
    """Quiet, offline, loopback-only settings for every step (as the Makefile exports)."""
    env = dict(os.environ)
    env.update({
        "SPARK_LOCAL_IP": env.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "KEDRO_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
    })
    env.pop("MLFLOW_TRACKING_URI", None)  # the scratch project's own store, always
    env.pop("MLFLOW_RUN_ID", None)
    return env


class MemorySampler(threading.Thread):
    """Peak memory of a process tree while it runs.

    ``python_rss``: the step's own Python process (the Spark driver's Python side);
    ``jvm_rss``: the JVM Spark launched; ``total_pss``: the whole tree (Python, JVM and any
    short-lived helper such as ``git``) in proportional set size, so pages a forked helper
    shares with its parent are not counted twice.

    The sampler shares the 2 cores with the step it measures, so it keeps to what is cheap:
    RSS and CPU times every ``interval`` (``/proc/<pid>/stat[m]``), and the proportional set
    size only every ``pss_every``-th sample. The kernel computes it by walking every page of
    the process: about 37 ms for the pipeline's JVM, which every 0.25 s took 4.5 CPU-seconds
    from a 65 s run and made it 2-4 s slower.
    """

    def __init__(self, pid: int, interval: float = 0.25, pss_every: int = 8) -> None:
        super().__init__(daemon=True)
        self._root = psutil.Process(pid)
        self._interval = interval
        self._pss_every = pss_every
        self._samples = 0
        self._stop_event = threading.Event()
        self.peak = {"python_rss_bytes": 0, "jvm_rss_bytes": 0, "total_pss_bytes": 0}
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> (role, user + system s), last seen

    def run(self) -> None:
        while not self._stop_event.is_set():
            self._sample()
            self._stop_event.wait(self._interval)

    def _sample(self) -> None:
        python = jvm = total = 0
        with_pss = self._samples % self._pss_every == 0
        self._samples += 1
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return
        for process in processes:
            try:
                memory = process.memory_full_info() if with_pss else process.memory_info()
                cpu = process.cpu_times()
                is_jvm = process.name().startswith("java")
            except psutil.Error:
                continue
            role = "jvm" if is_jvm else "python" if process.pid == self._root.pid else "other"
            self._cpu[process.pid] = (role, cpu.user + cpu.system)
            if with_pss:
                total += getattr(memory, "pss", memory.rss)  # no PSS on macOS
            if role == "jvm":
                jvm += memory.rss
            elif role == "python":
                python = memory.rss
        for key, value in (("python_rss_bytes", python), ("jvm_rss_bytes", jvm)):
            self.peak[key] = max(self.peak[key], value)
        if with_pss:
            self.peak["total_pss_bytes"] = max(self.peak["total_pss_bytes"], total)

    def stop(self) -> tuple[dict[str, float], dict[str, float]]:
        """Peak memory in GiB, and CPU seconds used by the tree and by its JVM and Python
        processes (as last sampled)."""
        self._stop_event.set()
        self.join()
        peaks = {key.replace("_bytes", "_gib"): round(value / GIB, 3)
                 for key, value in self.peak.items()}
        cpu = dict.fromkeys(("total", "jvm", "python", "other"), 0.0)
        for role, seconds in self._cpu.values():
            cpu["total"] += seconds
            cpu[role] += seconds
        return peaks, {role: round(seconds, 1) for role, seconds in cpu.items()}


def run_step(module: str, args: list[str], result_file: Path, log_file: Path,
             timeout: float = 3600) -> dict[str, Any]:
    """``python -m module args``; returns the JSON it wrote, wall and CPU time, peak memory.

    The step writes its own measurements to ``result_file``; its output goes to ``log_file``.
    A failed step raises with the tail of its log, so a broken benchmark never looks fast.
    """
    result_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", module, *args, "--result", str(result_file)]
    started = time.perf_counter()
    with log_file.open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=child_environment(),
                                   stdout=log, stderr=subprocess.STDOUT)
        sampler = MemorySampler(process.pid)
        sampler.start()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = "timeout"
        memory, cpu = sampler.stop()
    wall = time.perf_counter() - started
    if code != 0 or not result_file.is_file():
        tail = "".join(log_file.read_text(errors="replace").splitlines(True)[-40:])
        raise RuntimeError(f"benchmark step {module} {' '.join(args)} failed ({code}); "
                           f"log {log_file}:\n{tail}")
    return {**json.loads(result_file.read_text()), "process_seconds": round(wall, 2),
            "cpu_seconds": cpu["total"], "cpu_seconds_by_process": cpu, "peak_memory": memory}
