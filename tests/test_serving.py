"""The registered champion, served by ``mlflow models serve``, scores raw rows without Java.

One real server process (``--env-manager local``) of ``models:/<name>@champion``, started
with no Java on its ``PATH`` and no ``JAVA_HOME``: its answers equal batch scoring's on the
same rows, bad rows get their reasons, a missing column a 400, rows of other types their
scope reason; no java process runs in its process tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import psutil
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.ml.functions import vector_to_array
from pyspark.sql import functions as F

from fraud_detection.model_scope import SCOPE_KEY
from fraud_detection.parameters import AggregateParams
from fraud_detection.pipelines.aggregate.nodes import build_model_input_table
from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.tracking.model_logging import log_spark_model
from fraud_detection.tracking.online_flavor import OnlineSettings
from tests.mlflow_server import free_port
from tests.registry import fit_small_model, generated_transactions, mlflow_uris

pytestmark = pytest.mark.integration

MODEL_NAME = "serving-online"  # not the default name: the hook's tests own that one
THRESHOLD = 0.25
COORDINATE = "com.example.fraud:paysim-decision-tree:1.0.1"
STARTUP_TIMEOUT = 120.0
SCOPE = ("CASH_OUT", "TRANSFER")
# The request of docs/scoring-and-serving.md: a customer's two transactions, raw columns.
DOCS_REQUEST = {"dataframe_split": {
    "columns": ["step", "type", "amount", "nameOrig", "oldbalanceOrg", "newbalanceOrig",
                "nameDest", "oldbalanceDest", "newbalanceDest", "isFlaggedFraud"],
    "data": [
        [1, "TRANSFER", 181.0, "C1305486145", 181.0, 0.0, "C553264065", 0.0, 0.0, 0],
        [2, "CASH_OUT", 181.0, "C1305486145", 0.0, 0.0, "C38997010", 21182.0, 0.0, 0],
    ],
}}


def _request(url: str, body: dict | None = None) -> tuple[int, dict | str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            text, status = response.read().decode(), response.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def _java_trap(folder: Path) -> dict[str, str]:
    """Environment changes that make any Java start fail and leave a mark: no
    ``JAVA_HOME``, and a ``java`` first on ``PATH`` that writes ``java-called`` and fails."""
    folder.mkdir(parents=True, exist_ok=True)
    trap = folder / "java"
    trap.write_text(f"#!/bin/sh\necho \"$@\" >> {folder / 'java-called'}\nexit 127\n")
    trap.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}


def serve(model_uri: str, tracking_uri: str, log: Path, one_process: bool = False
          ) -> tuple[subprocess.Popen, str]:
    """Start ``mlflow models serve`` of ``model_uri`` (or, ``one_process``, the project's
    ``python -m fraud_detection.serving.server``, with ``-X importtime`` listing every module
    it imports in ``log``) with the Java trap (see :func:`_java_trap`, in ``log``'s folder);
    its process and URL."""
    port = free_port()
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME")}
    env.update(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_REGISTRY_URI=tracking_uri,
               **_java_trap(log.parent / "trap"))
    env["PATH"] = f"{env['PATH']}{os.pathsep}{venv_bin}"
    assert shutil.which("java", path=env["PATH"]) == str(log.parent / "trap" / "java")
    command = ([str(venv_bin / "python"), "-X", "importtime", "-m",
                "fraud_detection.serving.server", "-m", model_uri] if one_process else
               [str(venv_bin / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager",
                "local"])
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> float:
    start = time.monotonic()
    while time.monotonic() - start < STARTUP_TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n"
                               f"{log.read_text()[-3000:]}")
        try:
            if _request(f"{url}/ping")[0] == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no answer from {url}/ping after {STARTUP_TIMEOUT} s:\n"
                       f"{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop the server and everything it started, by its process group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def register_online(uri: str, model, table) -> tuple[int, str, str]:
    """Log ``model`` with its online flavor and register it as the training run's release
    does (tags run_id, threshold, coordinate, scope; alias champion). Version, run, model ID."""
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    with mlflow_uris(uri), mlflow.start_run() as run:
        mlflow.log_metric("threshold", 0.9)  # the version's tag wins over the run's metric
        info = log_spark_model(model, table.drop("nameOrig", "nameDest"),
                               transaction_types=SCOPE,
                               online=OnlineSettings(balance_tolerance=0.01))
        version = mlflow.register_model(info.model_uri, MODEL_NAME, tags={
            "run_id": run.info.run_id, "threshold": str(THRESHOLD), "coordinate": COORDINATE,
            SCOPE_KEY: ",".join(SCOPE)}).version
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    return int(version), run.info.run_id, info.model_id


def request_of(rows: pd.DataFrame) -> dict:
    return {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}


@pytest.fixture(scope="module")
def batch(spark):
    """Raw rows of whole customers (their histories complete) and batch scoring's
    probability of each, from the same fitted model through Spark."""
    model, table = fit_small_model(spark)
    raw = generated_transactions(spark, 3000, seed=11)
    customers = raw.groupBy("nameOrig").count().orderBy(F.desc("count"), "nameOrig").limit(60)
    rows = raw.join(customers.select("nameOrig"), "nameOrig").select(*RAW_COLUMNS)
    features = build_model_input_table(rows, AggregateParams(balance_tolerance=0.01))
    scored = model.transform(features).select(
        *RAW_COLUMNS, vector_to_array("probability")[1].alias("p")).toPandas()
    scored = scored.sample(frac=1.0, random_state=3).reset_index(drop=True)  # any order
    return model, table, scored


@pytest.fixture(scope="module")
def registered(spark, mlflow_server, batch):
    """The batch's model, registered as the champion: version, run ID, model ID."""
    model, table, _ = batch
    return register_online(mlflow_server.url, model, table)


@pytest.fixture(scope="module")
def served(mlflow_server, registered, tmp_path_factory):
    version, run_id, model_id = registered
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    process, url = serve(f"models:/{MODEL_NAME}@champion", mlflow_server.url, log)
    try:
        ready = wait_until_ready(url, process, log)
        print(f"\nonline flavor: ready after {ready:.1f} s")
        yield url, process, version, run_id, model_id, log
    finally:
        stop(process)


def test_served_champion_answers_raw_rows_as_batch_scoring_does(served, batch):
    url, process, version, run_id, _, log = served
    _, _, scored = batch
    raw = scored[list(RAW_COLUMNS)].drop(columns="isFraud")
    status, answer = _request(f"{url}/invocations", request_of(raw))
    assert status == 200, answer
    answers = pd.DataFrame(answer["predictions"])
    assert len(answers) == len(raw)
    in_scope = scored["type"].isin(SCOPE).to_numpy()
    assert in_scope.sum() > 50 and (~in_scope).sum() > 50
    got = answers["fraud_probability"].to_numpy(dtype=float)
    assert np.array_equal(got[in_scope], scored["p"].to_numpy()[in_scope])  # bit for bit
    assert answers.loc[in_scope, "predicted_fraud"].tolist() == (
        scored.loc[in_scope, "p"] >= THRESHOLD).astype(int).tolist()
    assert answers.loc[in_scope, "predicted_fraud"].nunique() == 2
    assert answers.loc[~in_scope, "fraud_probability"].isna().all()
    assert answers.loc[~in_scope, "unscored_reason"].tolist() == [
        f"out_of_scope: {kind}" for kind in scored.loc[~in_scope, "type"]]
    assert answers.loc[in_scope, "unscored_reason"].isna().all()
    assert set(answers["model_version"]) == {version}
    assert set(answers["model_coordinate"]) == {COORDINATE}
    assert set(answers["model_run_id"]) == {run_id}
    tree = psutil.Process(process.pid)
    names = [p.name() for p in [tree, *tree.children(recursive=True)]]
    assert not [n for n in names if "java" in n.lower()], names
    assert not (log.parent / "trap" / "java-called").exists()  # nothing even tried


def test_bad_rows_are_answered_with_their_reason(served):
    url = served[0]
    rows = pd.DataFrame(DOCS_REQUEST["dataframe_split"]["data"],
                        columns=DOCS_REQUEST["dataframe_split"]["columns"])
    bad = rows.copy()
    bad.loc[0, "amount"] = -1.0
    bad.loc[1, "type"] = "REFUND"
    bad = pd.concat([bad, rows.assign(step=0.5, nameOrig="C2")], ignore_index=True)
    status, answer = _request(f"{url}/invocations", request_of(bad))
    assert status == 200, answer
    reasons = [row["unscored_reason"] for row in answer["predictions"]]
    assert reasons == ["invalid: amount: negative", "invalid: type: unknown value 'REFUND'",
                       "invalid: step: not an integer ('0.5')",
                       "invalid: step: not an integer ('0.5')"]
    assert all(row["fraud_probability"] is None for row in answer["predictions"])
    status, answer = _request(f"{url}/invocations", DOCS_REQUEST)  # the documented request
    assert status == 200 and [r["unscored_reason"] for r in answer["predictions"]] == [None] * 2


def test_a_request_without_a_column_is_refused_naming_it(served):
    url = served[0]
    rows = pd.DataFrame(DOCS_REQUEST["dataframe_split"]["data"],
                        columns=DOCS_REQUEST["dataframe_split"]["columns"])
    status, answer = _request(f"{url}/invocations", request_of(rows.drop(columns="amount")))
    assert status == 400 and "amount" in str(answer), answer


def test_a_logged_model_no_version_was_registered_from_answers_without_a_version(
        served, mlflow_server, batch):
    """Served from its run (no registered version): scores, with no version or coordinate."""
    model, table, _ = batch
    with mlflow_uris(mlflow_server.url), mlflow.start_run() as run:
        info = log_spark_model(model, table.drop("nameOrig", "nameDest"),
                               transaction_types=SCOPE,
                               online=OnlineSettings(balance_tolerance=0.01))
        loaded = mlflow.pyfunc.load_model(info.model_uri)
    rows = pd.DataFrame(DOCS_REQUEST["dataframe_split"]["data"],
                        columns=DOCS_REQUEST["dataframe_split"]["columns"])
    answer = loaded.predict(rows.astype({"step": float, "isFlaggedFraud": float}))  # signature
    assert answer["model_version"].isna().all() and answer["model_coordinate"].isna().all()
    assert set(answer["model_run_id"]) == {run.info.run_id}
    assert answer["fraud_probability"].notna().all()


def test_an_unknown_version_is_refused_naming_it(served, mlflow_server):
    with mlflow_uris(mlflow_server.url), pytest.raises(MlflowException, match=MODEL_NAME):
        mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/99")


def test_the_pyfunc_environment_holds_no_spark_or_java(served, mlflow_server, tmp_path):
    with mlflow_uris(mlflow_server.url):
        local = Path(mlflow.artifacts.download_artifacts(f"models:/{MODEL_NAME}@champion",
                                                         dst_path=str(tmp_path)))
    requirements = (local / "requirements.txt").read_text()
    assert "pyspark" not in requirements and "java" not in requirements.lower()
    assert "pyspark" not in (local / "conda.yaml").read_text()
    logged = mlflow.models.Model.load(str(local))
    assert logged.flavors["python_function"]["loader_module"] == "fraud_detection.serving.pyfunc"
    assert logged.flavors["spark"]["model_data"] == "sparkml"  # batch scoring's flavor stays
    assert logged.signature.inputs.input_names() == list(RAW_COLUMNS)


# The one-process server (fraud_detection.serving.server): MLflow's scoring app in one Python.

@pytest.fixture(scope="module")
def one_process(mlflow_server, registered, tmp_path_factory):
    log = tmp_path_factory.mktemp("one-process") / "serve.log"
    process, url = serve(f"models:/{MODEL_NAME}@champion", mlflow_server.url, log,
                         one_process=True)
    try:
        ready = wait_until_ready(url, process, log)
        print(f"\none-process server: ready after {ready:.1f} s")
        yield url, process, log
    finally:
        stop(process)


def test_the_one_process_server_answers_as_mlflow_models_serve_and_batch_scoring(
        one_process, served, batch, registered):
    url, process, log = one_process
    _, _, scored = batch
    raw = scored[list(RAW_COLUMNS)].drop(columns="isFraud")
    status, answer = _request(f"{url}/invocations", request_of(raw))
    assert status == 200, answer
    assert _request(f"{served[0]}/invocations", request_of(raw)) == (200, answer)  # same JSON
    answers = pd.DataFrame(answer["predictions"])
    in_scope = scored["type"].isin(SCOPE).to_numpy()
    got = answers["fraud_probability"].to_numpy(dtype=float)
    assert np.array_equal(got[in_scope], scored["p"].to_numpy()[in_scope])  # bit for bit
    assert set(answers["model_version"]) == {registered[0]}
    records = json.loads(raw.to_json(orient="records"))
    assert _request(f"{url}/invocations", {"dataframe_records": records}) == (200, answer)
    columns = {name: raw[name].tolist() for name in raw}
    assert _request(f"{url}/invocations", {"inputs": columns}) == (200, answer)
    tree = psutil.Process(process.pid)
    processes = [tree, *tree.children(recursive=True)]
    assert [p.name() for p in processes] == [tree.name()]  # one process: no worker, no java
    assert not (log.parent / "trap" / "java-called").exists()
    imported = [line.rsplit("|", 1)[-1].strip() for line in log.read_text().splitlines()
                if line.startswith("import time:")]
    assert "mlflow" in imported and "fraud_detection.serving.validation" in imported
    assert not [m for m in imported if m.split(".")[0] in ("py4j", "kedro")]
    # pyspark is only tried (by MLflow) and refused: the server says none is loaded
    assert "(no pyspark loaded); serving on" in log.read_text()


def test_the_one_process_answers_equal_the_pyfuncs_predict(one_process, mlflow_server):
    rows = pd.DataFrame(DOCS_REQUEST["dataframe_split"]["data"],
                        columns=DOCS_REQUEST["dataframe_split"]["columns"])
    rows = pd.concat([rows, rows.assign(nameOrig="C9", amount=-1.0, type="PAYMENT")])
    status, answer = _request(f"{one_process[0]}/invocations", request_of(rows))
    assert status == 200, answer
    with mlflow_uris(mlflow_server.url):
        model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    expected = model.predict(rows.astype({"step": float, "isFlaggedFraud": float}))
    assert answer["predictions"] == expected.to_dict(orient="records")
    assert [r["unscored_reason"] for r in answer["predictions"]] == [
        None, None, "invalid: amount: negative", "invalid: amount: negative"]


def test_the_one_process_server_refuses_as_mlflow_models_serve_does(one_process, served):
    rows = pd.DataFrame(DOCS_REQUEST["dataframe_split"]["data"],
                        columns=DOCS_REQUEST["dataframe_split"]["columns"])
    url, mlflows = one_process[0], served[0]
    for body in (request_of(rows.drop(columns="amount")), {"dataframe_split": {"x": 1}},
                 {"data": [1]}):
        ours = _request(f"{url}/invocations", body)
        theirs = _request(f"{mlflows}/invocations", body)
        assert ours[0] == theirs[0] == 400 and _sets_sorted(ours[1]) == _sets_sorted(theirs[1])
    answer = _request(f"{url}/invocations", request_of(rows.drop(columns="amount")))[1]
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert "Model is missing inputs ['amount']" in answer["message"], answer
    for path in ("/ping", "/health", "/version"):
        assert _request(f"{url}{path}") == _request(f"{mlflows}{path}")
        assert _request(f"{url}{path}")[0] == 200


def _sets_sorted(answer: dict) -> dict:
    """An error answer with the Python sets its message shows (``{'inputs', ...}``) in sorted
    order: each process orders a set of texts by its own hash seed."""
    def ordered(match: re.Match) -> str:
        return "{" + ", ".join(sorted(match.group(1).split(", "))) + "}"
    return {**answer, "message": re.sub(r"\{('[^{}]*')\}", ordered, answer["message"])}


@pytest.mark.parametrize("uri, says, hint", [
    (f"models:/{MODEL_NAME}@stable", "stable", f"Model '{MODEL_NAME}' has aliases: champion -> "),
    (f"models:/{MODEL_NAME}/99", "99", f"Model '{MODEL_NAME}' has aliases: champion -> "),
    ("models:/no-such-model@champion", "no-such-model", "has no model 'no-such-model'; it has: "),
])
def test_a_model_that_cannot_be_loaded_stops_the_server_in_two_lines(
        registered, mlflow_server, capsys, uri, says, hint):
    from fraud_detection.serving.server import main

    with mlflow_uris(mlflow_server.url):
        assert main(["-m", uri, "-p", str(free_port())]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()[-2:]  # the last two lines (MLflow may warn before)
    assert says in lines[0] and "Traceback" not in err, err
    assert lines[0].startswith(f"fraud-detection-serve: cannot load {uri}: ")
    assert hint in lines[1] and MODEL_NAME in lines[1], lines


def test_an_unreachable_tracking_server_stops_the_server_at_once(capsys):
    from fraud_detection.serving.server import main

    closed = f"http://127.0.0.1:{free_port()}"
    with mlflow_uris(closed):
        assert main(["-m", "models:/fraud-detector@champion"]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and f"tracking server {closed} is unreachable" in lines[0], err
    assert "MLFLOW_TRACKING_URI" in lines[1]
