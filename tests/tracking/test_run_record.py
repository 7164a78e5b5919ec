"""The run record the hooks share, and the lines a training run ends with."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

import pytest

from fraud_detection.tracking.config import MlflowSettings
from fraud_detection.tracking.registry import Promotion
from fraud_detection.tracking.release import Released, run_summary
from fraud_detection.tracking.run_record import RunRecords
from fraud_detection.tracking.versions import DatasetVersion, LocatedVersion

REPO = Path(__file__).resolve().parents[2]
RUN_ID = "0123456789abcdef0123456789abcdef"


def test_every_hook_of_a_run_gets_the_same_record_and_the_next_run_a_new_one():
    records = RunRecords()
    params = {"run_id": "k-1", "pipeline_names": ["train"]}
    first = records.open(params, REPO, "local")
    assert records.open(params, REPO, "local") is first is records.current
    assert (first.kedro_run_id, first.pipelines, first.env) == ("k-1", ["train"], "local")
    assert len(first.git["commit"]) == 40  # read once, here: the repository's HEAD
    # A notebook's next run: a new run_params object, even with the same IDs.
    second = records.open(dict(params), REPO, "local")
    assert second is not first and records.current is second
    assert records.open({}, REPO, "local").pipelines == ["__default__"]


def test_versions_are_read_by_base_name_and_a_pending_digest_is_waited_for():
    record = RunRecords().open({"run_id": "k"}, REPO, "local")
    raw = DatasetVersion("raw_transactions@spark", "kedro", "file:///raw", None, None, "/raw")
    digest: Future = Future()
    record.note_version("input", "raw_transactions", LocatedVersion(raw, [Path("/raw")]), digest)
    table = DatasetVersion("model_input_table", "kedro", "file:///t@v1", "v1", None, "/t")
    record.note_version("output", "model_input_table", table)
    digest.set_result("abc")
    assert record.data_version_tags() == {"data.raw_transactions": "abc",
                                          "data.model_input_table": "v1"}
    assert record.data_version_tags(only={"raw_transactions"}) == {
        "data.raw_transactions": "abc"}
    assert record.versions("input")["raw_transactions"].digest == "abc"
    with pytest.raises(ValueError, match="role must be one of"):
        record.note_version("read", "x", table)


def _released(promoted: bool) -> Released:
    promotion = Promotion("3", "com.example:fraud:1.0.3", promoted,
                          "auprc 0.910000 beats champion v2 0.900000 by more than 0.0"
                          if promoted else "auprc 0.8 does not beat champion v2",
                          "2", 0.9, 0.91234)
    return Released("fraud-detector", promotion, "auprc", 0.00129)


def test_summary_of_a_champion_in_the_local_store(tmp_path):
    settings = MlflowSettings.from_config({}, tmp_path)
    assert run_summary(_released(True), RUN_ID, "1", settings) == [
        "auprc 0.9123 (baseline 0.0013: a model that ranks at random)",
        ("registered fraud-detector version 3 (com.example:fraud:1.0.3), aliases champion, "
        "challenger: auprc 0.910000 beats champion v2 0.900000 by more than 0.0"),
        (f"MLflow run {RUN_ID}: `make ui`, then http://127.0.0.1:5000/#/experiments/1/runs/"
        f"{RUN_ID}"),
    ]


def test_summary_of_a_challenger_on_a_server_shows_no_credentials(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = MlflowSettings.from_config({"tracking_uri": "https://u:pw@mlflow.example/"},
                                          tmp_path)
    lines = run_summary(_released(False), RUN_ID, "7", settings)
    assert lines[1].endswith("alias challenger (champion stays version 2): auprc 0.8 does "
                             "not beat champion v2")
    assert lines[2] == (f"MLflow run {RUN_ID}: https://***@mlflow.example/#/experiments/7/"
                        f"runs/{RUN_ID}")


def test_a_run_that_registered_nothing_still_says_where_it_is(tmp_path):
    settings = MlflowSettings.from_config({}, tmp_path)
    assert run_summary(None, RUN_ID, "1", settings) == [
        (f"MLflow run {RUN_ID}: `make ui`, then http://127.0.0.1:5000/#/experiments/1/runs/"
        f"{RUN_ID}")]
