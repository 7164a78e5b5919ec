"""Every command that talks to MLflow fails within seconds, naming the URI, when the tracking
server cannot be reached: a closed port (refused at once) and a server that accepts the
connection and never answers (MLflow's client alone would wait and retry for minutes).

The elapsed-time bound is a correctness check (minutes against seconds), not a benchmark.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import closing

import pytest
from click.testing import CliRunner

from fraud_detection.cli import cli
from fraud_detection.tracking.config import TrackingUnavailableError
from tests.kedro_project import mlflow_yml, run_kedro, scratch_project
from tests.mlflow_server import free_port

pytestmark = pytest.mark.integration

BOUND = 20  # seconds; the check itself waits at most connect_timeout (5 s)


@pytest.fixture(scope="module")
def silent_server() -> Iterator[str]:
    """A listening socket that never accepts: the kernel completes the connection, and no
    answer ever comes."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(params=["closed port", "never answers"])
def down_uri(request, silent_server) -> str:
    return f"http://127.0.0.1:{free_port()}" if request.param == "closed port" else silent_server


@pytest.fixture
def project(tmp_path, down_uri, monkeypatch):
    root = scratch_project(tmp_path / "down")
    (root / "conf/local/mlflow.yml").write_text(mlflow_yml(down_uri, "down-test", "down-model"))
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


@pytest.mark.parametrize("command", [
    ["provenance", "model", "champion"],
    ["provenance", "run", "0123456789abcdef"],
    ["provenance", "data", "model_input_table", "2026-01-01T00.00.00.000Z"],
])
def test_provenance_commands_fail_in_seconds_naming_the_uri(project, down_uri, command):
    started = time.monotonic()
    result = CliRunner().invoke(cli, command)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: MLflow tracking server {down_uri} is unreachable (")
    assert last.endswith("start it, or set tracking_uri in conf/<env>/mlflow.yml or "
                         "MLFLOW_TRACKING_URI")
    assert elapsed < BOUND, f"{command} took {elapsed:.0f} s"


def test_scoring_fails_in_seconds_before_looking_up_the_model(spark, project, down_uri):
    started = time.monotonic()
    with pytest.raises(TrackingUnavailableError, match=rf"{down_uri} is unreachable"):
        run_kedro(project, ["score"])
    assert time.monotonic() - started < BOUND
    assert not list((project / "data/07_model_output").iterdir())  # nothing written
