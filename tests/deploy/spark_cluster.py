"""A real Spark standalone cluster on 127.0.0.1: one master and one worker, small and short-lived.

Started from the pyspark package's own ``spark-class`` (the pip package has no
``start-master.sh``), each daemon in its own process group so that ``stop`` ends it and
everything it started (the worker's executors), whatever happened in the test.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

SPARK_CLASS = Path(sys.executable).parent / "spark-class"
MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"


def spark_home() -> str:
    """The pip package's Spark (its scripts would otherwise ask whatever python3 is on PATH)."""
    import pyspark

    return str(Path(pyspark.__file__).parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class StandaloneCluster:
    """``with StandaloneCluster(tmp) as cluster:`` -> ``cluster.master_url`` is ready to use."""

    def __init__(self, workdir: Path, worker_cores: int = 2, worker_memory: str = "1g",
                 timeout: float = 90.0) -> None:
        self.workdir = workdir
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.timeout = timeout
        self.port, self.ui_port = free_port(), free_port()
        self.worker_port, self.worker_ui_port = free_port(), free_port()
        self._processes: list[subprocess.Popen] = []

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._spawn("master", [MASTER, "--host", HOST, "--port", str(self.port),
                               "--webui-port", str(self.ui_port)])
        self._wait(lambda: self.master_state().get("status") == "ALIVE", "the master")
        self._spawn("worker", [WORKER, self.master_url, "--host", HOST,
                               "--port", str(self.worker_port),
                               "--webui-port", str(self.worker_ui_port),
                               "--cores", str(self.worker_cores),
                               "--memory", self.worker_memory,
                               "--work-dir", str(self.workdir / "work")])
        self._wait(lambda: len(self.alive_workers()) == 1, "the worker to register")

    def stop(self) -> None:
        """Worker first (it ends its executors), then the master; always waits for both."""
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self._processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._processes.clear()

    # --- what the cluster says (the master's and worker's JSON web UI) --------------------

    def master_state(self) -> dict[str, Any]:
        return _get_json(f"http://{HOST}:{self.ui_port}/json/")

    def worker_state(self) -> dict[str, Any]:
        return _get_json(f"http://{HOST}:{self.worker_ui_port}/json/")

    def alive_workers(self) -> list[dict[str, Any]]:
        return [w for w in self.master_state().get("workers", []) if w.get("state") == "ALIVE"]

    def wait_until(self, ready, what: str) -> None:
        """Poll the daemons' JSON until ``ready()``; fails with their logs after the timeout."""
        self._wait(ready, what)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted(self.workdir.glob("*.log")))

    # --- internals ---------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> None:
        env = {**os.environ, "SPARK_HOME": spark_home(), "SPARK_LOCAL_IP": HOST,
               "SPARK_DAEMON_MEMORY": "256m",
               "SPARK_WORKER_DIR": str(self.workdir / "work")}
        log = (self.workdir / f"{name}.log").open("wb")
        self._processes.append(subprocess.Popen(
            [str(SPARK_CLASS), *args], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, cwd=self.workdir, start_new_session=True,
        ))
        log.close()

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._processes):
                raise RuntimeError(f"Spark standalone daemon exited while waiting for {what}:\n"
                                   + self.logs())
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"waited {self.timeout:.0f} s for {what}:\n" + self.logs())


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def event_log_tasks(event_dir: Path) -> tuple[dict[str, str], list[str]]:
    """From a Spark event log: executors added (id -> host) and the executor of every task."""
    executors: dict[str, str] = {}
    task_executors: list[str] = []
    for path in event_dir.iterdir():  # one uncompressed, non-rolling log per application
        for line in path.read_text().splitlines():
            event = json.loads(line)
            kind = event.get("Event")
            if kind == "SparkListenerExecutorAdded":
                executors[event["Executor ID"]] = event["Executor Info"]["Host"]
            elif kind == "SparkListenerTaskEnd":
                task_executors.append(event["Task Info"]["Executor ID"])
    return executors, task_executors
