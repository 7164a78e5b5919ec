"""The registered champion served by ``mlflow models serve`` answers a REST request."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.mlflow_server import free_port
from tests.registry import fit_small_model, input_example, register_version

pytestmark = pytest.mark.integration

# The request shown in the README (two first transactions of their customers, features as
# pipeline 'aggregate' computes them); kept here so the README example is known to work.
README_REQUEST = {"dataframe_split": {
    "columns": ["type", "amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest",
                "newbalanceDest", "errorBalanceOrig", "errorBalanceDest", "emptiesOrigin",
                "destBalancesZero", "amountToOrigBalance", "hourOfDay", "custPriorTxnCount",
                "custPriorAmountMean", "custPriorAmountMax", "custPriorAmountStd",
                "custPriorTransferShare", "custPriorCashOutShare", "custStepsSincePrev",
                "amountToCustPriorMean"],
    "data": [
        ["TRANSFER", 181.0, 181.0, 0.0, 0.0, 0.0, 0.0, 181.0, 1, 1, 1.0, 1,
         0, 0.0, 0.0, 0.0, 0.0, 0.0, -1, -1.0],
        ["CASH_OUT", 229133.94, 15325.0, 0.0, 5083.0, 51513.44, 213808.94, 182703.5, 1, 0,
         14.95164372, 1, 0, 0.0, 0.0, 0.0, 0.0, 0.0, -1, -1.0],
    ],
}}
MODEL_NAME = "serving-test"  # not the default name: the hook's tests own that one
STARTUP_TIMEOUT = 240.0  # the server starts its own Spark; on a busy laptop this takes a while


def _request(url: str, body: dict | None = None) -> tuple[int, dict | str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> float:
    start = time.monotonic()
    while time.monotonic() - start < STARTUP_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow models serve exited ({process.returncode}):\n"
                               f"{log.read_text()[-3000:]}")
        try:
            if _request(f"{url}/ping")[0] == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"no answer from {url}/ping after {STARTUP_TIMEOUT} s:\n"
                       f"{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and everything it started (its Spark JVM), by its process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def champion(spark, mlflow_server):
    """A registered version with alias champion, its input example and its own predictions."""
    model, table = fit_small_model(spark)
    example = input_example(model, table, n=2)
    register_version(mlflow_server.url, MODEL_NAME, model, example, aliases=("champion",))
    expected = [r[0] for r in model.transform(spark.createDataFrame(example))
                .select("prediction").collect()]
    return example, expected


def test_served_champion_answers_a_request(mlflow_server, champion, tmp_path):
    example, expected = champion
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": mlflow_server.url,
        "MLFLOW_REGISTRY_URI": mlflow_server.url,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(venv_bin / "mlflow"), "models", "serve", "-m", f"models:/{MODEL_NAME}@champion",
             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        startup = _wait_until_ready(url, process, log)
        request = {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
        assert request["dataframe_split"]["columns"] == README_REQUEST["dataframe_split"]["columns"]
        began = time.monotonic()
        status, answer = _request(f"{url}/invocations", request)
        latency = time.monotonic() - began
        print(f"\nmlflow models serve: ready after {startup:.1f} s, "
              f"first request {latency:.2f} s")
        assert status == 200, answer
        assert answer == {"predictions": expected}
        assert set(expected) <= {0.0, 1.0} and len(expected) == 2

        status, answer = _request(f"{url}/invocations", README_REQUEST)
        assert status == 200, answer
        assert len(answer["predictions"]) == 2 and set(answer["predictions"]) <= {0.0, 1.0}

        # A request without a column the signature needs is refused, naming the column.
        without = example.drop(columns="amount").to_json(orient="split", index=False)
        status, answer = _request(f"{url}/invocations", {"dataframe_split": json.loads(without)})
        assert status == 400 and "amount" in str(answer)
    finally:
        _stop(process)
    assert process.poll() is not None
