"""Small pure pieces of tracking: flattening, redaction, decisions, digests, settings."""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest

from fraud_detection.hooks.mlflow_tracking import (
    flatten,
    plain,
    read_parameters,
    runner_name,
)
from fraud_detection.parameters import SplitParams
from fraud_detection.redaction import redact
from fraud_detection.tracking.config import (
    MlflowSettings,
    TrackingUnavailableError,
    check_reachable,
)
from fraud_detection.tracking.registry import coordinate, decide
from fraud_detection.tracking.versions import content_digest


def test_flatten_prefixes_by_parameters_file_and_masks_secrets():
    params = {"train": {"model": {"max_depth": 8}, "types": ["A", "B"], "api_token": "x"},
              "split": {"n_shards": 16, "db_password": "p"}}
    assert flatten(params) == {
        "train.model.max_depth": "8", "train.types": '["A", "B"]', "train.api_token": "***",
        "split.n_shards": "16", "split.db_password": "***",
    }


def test_typed_parameters_are_logged_as_plain_values():
    """Kedro hands the hooks the typed parameters the nodes receive."""
    split = SplitParams(n_shards=16, max_quarantine_fraction=0.01)
    found = plain({"split": split, "spark": {"master": "local[2]"}, "seed": 1})
    assert found == {"split": found["split"], "spark": {"master": "local[2]"}, "seed": 1}
    assert found["split"] == {name: getattr(split, name) for name in SplitParams.model_fields}
    assert (found["split"]["n_shards"], found["split"]["max_quarantine_fraction"]) == (16, 0.01)
    assert flatten(plain({"split": split}))["split.n_shards"] == "16"


def test_read_parameters_keeps_what_the_pipeline_reads():
    flat = {"train.model.max_depth": "8", "train.types": "[]", "training.x": "1",
            "split.n_shards": "16", "data_generation.seed": "42"}
    assert read_parameters(flat, {"params:train.model", "params:split"}) == {
        "train.model.max_depth": "8", "split.n_shards": "16"}
    assert read_parameters(flat, {"params:train"}) == {
        "train.model.max_depth": "8", "train.types": "[]"}
    assert read_parameters(flat, {"parameters", "params:split"}) == flat
    assert read_parameters(flat, set()) == {}


def test_runner_name_from_kedros_run_params():
    assert runner_name("<kedro.runner.sequential_runner.SequentialRunner object at 0x7f04>") == (
        "SequentialRunner")
    assert runner_name(None) == runner_name("None") == "SequentialRunner"
    assert runner_name("ParallelRunner") == "ParallelRunner"


def test_redact_removes_user_info_from_uris():
    assert redact("https://bob:pw@host:5000/x and http://t@h") == "https://***@host:5000/x and http://***@h"


def test_settings_resolve_local_stores_inside_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = MlflowSettings.from_config(
        {"tracking_uri": "sqlite:///mlflow.db", "artifact_location": "mlartifacts"}, tmp_path)
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert settings.artifact_location == (tmp_path / "mlartifacts").as_uri()
    assert settings.is_local_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert MlflowSettings.from_config({}, tmp_path).tracking_uri == "http://127.0.0.1:5000"


def test_activate_leaves_the_environment_as_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    MlflowSettings.from_config({"tracking_uri": "sqlite:///a.db"}, tmp_path).activate()
    assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path}/a.db"
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_unreachable_server_names_the_uri_without_secrets():
    with pytest.raises(TrackingUnavailableError) as err:
        check_reachable("http://user:pw@127.0.0.1:9", timeout=2)
    assert "http://***@127.0.0.1:9 is unreachable" in str(err.value)
    assert "pw" not in str(err.value)
    check_reachable("sqlite:///x.db", timeout=1)  # local stores need no check


def test_coordinate_and_champion_decision():
    release = {"group": "com.acme", "artifact": "tree", "major_minor": "2.1"}
    assert coordinate(release, 7) == "com.acme:tree:2.1.7"
    assert decide("auprc", 0.5, None, None, 0.0) == (True, "no champion yet")
    assert decide("auprc", 0.9, "3", 0.8, 0.05)[0] is True
    assert decide("auprc", 0.84, "3", 0.8, 0.05)[0] is False
    assert decide("auprc", 0.9, "3", None, 0.0) == (
        False, "champion v3 could not be scored on this evaluation data")


def test_content_digest_covers_names_and_bytes_but_not_spark_markers(tmp_path: Path):
    folder = tmp_path / "table"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"abc")
    first = content_digest([folder])
    (folder / "_SUCCESS").write_bytes(b"")
    assert content_digest([folder]) == first
    (folder / "part-0.parquet").write_bytes(b"abd")
    assert content_digest([folder]) != first
    assert content_digest([tmp_path / "missing"]) is None


def test_the_error_tag_shows_bad_bytes_escaped_cut_short_and_no_secret(tmp_path, monkeypatch):
    """A real (SQLite) store: the failed run's ``error`` tag as the MLflow UI would show it."""
    from fraud_detection.hooks.mlflow_tracking import MlflowTrackingHook

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    hook = MlflowTrackingHook()
    hook.settings = MlflowSettings.from_config({"tracking_uri": "sqlite:///t.db"}, tmp_path)
    hook.settings.activate()
    run = mlflow.start_run()
    hook._run_id, hook._owns_run = run.info.run_id, True
    raw = b"nameOrig \xff\xfe\x1b[31m at http://user:pw@host:5000 " + b"x" * 5000
    hook.on_pipeline_error(ValueError(raw.decode("utf-8", "surrogateescape")))

    finished = mlflow.MlflowClient().get_run(run.info.run_id)
    tag = finished.data.tags["error"]
    assert finished.info.status == "FAILED"
    assert tag.startswith(r"ValueError: nameOrig \udcff\udcfe\x1b[31m at http://***@host:5000 x")
    assert tag.endswith("characters)") and len(tag) < 2100
    assert "pw" not in tag and tag.isprintable()
