"""Short failures: a user error ends the command with its message, the full trace in a file.

The commands run for real, as a user types them (``.venv/bin/kedro run``, ``python -m
fraud_detection``), in scratch copies of the project, all at once (each one waits mostly on
its own JVM or server), without the Makefile's environment (no ``SPARK_LOCAL_IP``, no
``PYSPARK_PYTHON``): the output is also checked for Spark's loopback warning.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kedro.io.core import DatasetError
from mlflow import MlflowClient
from py4j.protocol import Py4JJavaError

from fraud_detection.failures import LOG_FILE, printable, report, summary, user_error
from fraud_detection.logs import JavaStackFilter, cut_java_frames
from fraud_detection.pipelines.split.nodes import RawDataError
from tests.kedro_project import REPO, scratch_project
from tests.mlflow_server import free_port

HEADER = ("step,type,amount,nameOrig,oldbalanceOrg,newbalanceOrig,nameDest,oldbalanceDest,"
          "newbalanceDest,isFraud,isFlaggedFraud")
ROWS = ("1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0\n"
        "1,CASH_OUT,229133.94,C905080434,15325.0,0.0,C476402209,5083.0,51513.44,0,0\n")
JAVA_FRAME = re.compile(r"^\s+at [\w$.]+\(", re.MULTILINE)


# -- the mechanism, in this process ---------------------------------------------------------

def java_error(spark) -> Py4JJavaError:
    """A real py4j error, a failed Spark job: the whole Java stack is in its text."""
    try:
        spark.range(1).selectExpr('java_method("java.lang.Integer", "parseInt", "x1y")').collect()
    except Py4JJavaError as error:
        return error
    raise AssertionError("parsing 'x1y' as an integer succeeded")


def test_a_user_error_behind_kedros_wrapper_is_shown_alone(tmp_path):
    try:
        try:
            raise RawDataError("raw_transactions: column 'amount' missing; rename 'amt'")
        except RawDataError as cause:
            raise DatasetError("Failed while loading data from dataset X.\n...") from cause
    except DatasetError as error:
        assert isinstance(user_error(error), RawDataError)
        shown = summary(error, "logs/last-failure.log")
    assert "Traceback" not in shown
    assert shown.splitlines()[-1] == (
        "RawDataError: raw_transactions: column 'amount' missing; rename 'amt'")
    assert "logs/last-failure.log" in shown.splitlines()[-2]


def test_a_bug_keeps_its_traceback_with_java_frames_cut(spark, tmp_path, capsys):
    error = java_error(spark)
    assert len(JAVA_FRAME.findall(str(error))) > 10
    assert user_error(error) is None
    log_file = report(error, tmp_path)
    shown = capsys.readouterr().err
    assert log_file == tmp_path / LOG_FILE
    assert "Traceback" in shown and "x1y" in shown
    assert re.search(r"\.\.\. \d+ more Java frames in .*last-failure\.log", shown)
    assert "a bug" in shown.splitlines()[-1]
    assert len(JAVA_FRAME.findall(log_file.read_text())) >= len(JAVA_FRAME.findall(str(error)))


def test_verbose_prints_the_whole_trace(spark, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FRAUD_DETECTION_VERBOSE", "1")
    error = java_error(spark)
    report(error, tmp_path)
    assert "more Java frames" not in capsys.readouterr().err


def test_the_console_log_cuts_java_stacks(spark, monkeypatch):
    monkeypatch.delenv("FRAUD_DETECTION_VERBOSE", raising=False)
    record = logging.LogRecord("kedro", logging.ERROR, __file__, 1,
                               "Node failed with error: \n%s", (str(java_error(spark)),), None)
    assert JavaStackFilter().filter(record)
    assert len(JAVA_FRAME.findall(record.getMessage())) <= 3
    assert "more Java frames (FRAUD_DETECTION_VERBOSE=1 shows them)" in record.getMessage()


def test_control_characters_are_escaped():
    assert printable("bad \x1b[2J name\x00\nnext\tline") == "bad \\x1b[2J name\\x00\nnext\tline"


line = st.one_of(
    st.builds(lambda c, m: f"\tat org.{c}.{m}(X.java:{len(m)})",
              st.from_regex(r"[a-z]{1,8}", fullmatch=True),
              st.from_regex(r"[a-z]{1,8}", fullmatch=True)),
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85"
                          "\u2028\u2029"), max_size=30)
    .filter(lambda s: "at " not in s and "more" not in s),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, max_size=40))
def test_cutting_java_frames_keeps_every_other_line_and_counts_the_rest(lines):
    cut = cut_java_frames("\n".join(lines), "in F", shown=3).split("\n") if lines else []
    others = [x for x in lines if not JAVA_FRAME.match(x)]
    assert [x for x in cut if not JAVA_FRAME.match(x) and "more Java frames" not in x] == others
    frames_kept = sum(1 for x in cut if JAVA_FRAME.match(x))
    frames_said = sum(int(m) for m in re.findall(r"\.\.\. (\d+) more Java frames in F",
                                                 "\n".join(cut)))
    assert frames_kept + frames_said == sum(1 for x in lines if JAVA_FRAME.match(x))
    assert max((len(run) for run in re.findall(r"(?:^\tat [^\n]*\n?){4,}", "\n".join(cut),
                                                re.MULTILINE)), default=0) == 0


# -- the real commands, as a user runs them -------------------------------------------------

def _project(root: Path, csv: str | None = None) -> Path:
    project = scratch_project(root)
    shutil.copy(REPO / ".telemetry", project / ".telemetry")
    (project / "conf" / "local" / "spark.yml").write_text(
        "spark.sql.shuffle.partitions: 4\nspark.driver.memory: 1g\nspark.ui.enabled: false\n")
    if csv is not None:
        (project / "data" / "01_raw" / "transactions.csv").write_text(csv)
    return project


def _unknown_alias_project(root: Path) -> Path:
    """A registry whose model has a champion, asked for an alias it does not have."""
    project = _project(root, HEADER + "\n" + ROWS)
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    client.create_registered_model("fraud-detector")
    version = client.create_model_version("fraud-detector", str(project / "no-model"))
    client.set_registered_model_alias("fraud-detector", "champion", version.version)
    return project


def _unreachable_project(root: Path) -> tuple[Path, str]:
    project = _project(root, HEADER + "\n" + ROWS)
    uri = f"http://127.0.0.1:{free_port()}"
    (project / "conf" / "local" / "mlflow.yml").write_text(
        f"tracking_uri: {uri}\nconnect_timeout: 2\n")
    return project, uri


KEDRO = [str(Path(sys.executable).parent / "kedro"), "run"]


@pytest.fixture(scope="module")
def failed_runs(tmp_path_factory):
    """Every kind of user error, each in its own project, the commands running at once."""
    root = tmp_path_factory.mktemp("failures")
    unreachable, uri = _unreachable_project(root / "unreachable")
    cases = {
        "parameter": (_project(root / "parameter"),
                      [*KEDRO, "--params", "train.model.max_dept=5"]),
        "input": (_project(root / "input", HEADER.replace("amount", "amt") + "\n" + ROWS),
                  KEDRO),
        "missing": (_project(root / "missing"),
                    [sys.executable, "-m", "fraud_detection"]),
        "mlflow": (unreachable, KEDRO),
        "alias": (_unknown_alias_project(root / "alias"),
                  [*KEDRO, "--pipelines", "score", "--params", "score.model_ref=nosuch"]),
    }
    env = {key: value for key, value in os.environ.items()
           if key not in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON",
                          "KEDRO_DISABLE_TELEMETRY", "DO_NOT_TRACK", "FRAUD_DETECTION_VERBOSE",
                          "MLFLOW_TRACKING_URI")}
    env["COLUMNS"] = "300"
    started = {}
    for name, (project, command) in cases.items():
        output = (project / "output.txt").open("w")
        started[name] = (project, output, subprocess.Popen(
            command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT))
    results = {}
    for name, (project, output, process) in started.items():
        process.wait(timeout=600)
        output.close()
        results[name] = (project, process.returncode, (project / "output.txt").read_text())
    results["mlflow_uri"] = uri
    return results


def _assert_short_failure(result, error_type: str, *expected: str) -> list[str]:
    project, code, output = result
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 1, output[-3000:]
    assert "Traceback" not in output and "╭" not in output, output[-3000:]
    assert "at org.apache" not in output, output[-3000:]
    assert "resolves to a loopback address" not in output
    assert lines[-2].startswith("fraud-detection: the run failed; full trace in "
                                "logs/last-failure.log"), lines[-3:]
    assert lines[-1].startswith(f"{error_type}: "), lines[-3:]
    for text in expected:
        assert text in lines[-1], lines[-1]
    trace = (project / LOG_FILE).read_text()
    assert "Traceback (most recent call last)" in trace and error_type in trace
    return lines


def test_a_misspelt_parameter(failed_runs):
    _assert_short_failure(failed_runs["parameter"], "UnknownParameterError",
                          "train.model.max_dept", "did you mean train.model.max_depth?")


def test_a_bad_input_file(failed_runs):
    project, _, output = failed_runs["input"]
    _assert_short_failure(failed_runs["input"], "RawDataError", "column 'amount' missing",
                          str(project / "data" / "01_raw" / "transactions.csv"),
                          "rename column 'amt' to 'amount'")
    # Spark started once, quietly, logging to logs/spark.log
    assert "Using Spark's default log4j profile" not in output
    assert output.count("Using incubator modules") == 1  # the JVM's one start-up line
    assert (project / "logs" / "spark.log").exists()


def test_a_missing_input_file_through_the_packaged_entry_point(failed_runs):
    _assert_short_failure(failed_runs["missing"], "DatasetError", "no file matching '*.csv'",
                          "kedro run --pipelines data_generation")


def test_an_unreachable_tracking_server(failed_runs):
    _assert_short_failure(failed_runs["mlflow"], "TrackingUnavailableError",
                          failed_runs["mlflow_uri"])


def test_an_unknown_model_alias(failed_runs):
    _assert_short_failure(failed_runs["alias"], "DatasetError", "nosuch")
