"""`kedro pachyderm pipelines`: one valid CreatePipelineRequest per stage, secrets by reference
only; the configuration typed (unknown keys and literal credentials refused)."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kedro.pipeline import Node, Pipeline

from fraud_detection.cli import cli
from fraud_detection.pachyderm_pipelines import (
    PipelinesConfig,
    PipelinesConfigError,
    StageIO,
    pipeline_specs,
)
from fraud_detection.pachyderm_pipelines.specs import stage_io
from tests.kedro_project import REPO, scratch_project
from tests.pachyderm_pipelines.specs import schema_errors
from tests.pachyderm_server.server import PachdServer

SECRETS = {"PACH_AUTH_TOKEN": "pach-token-s3cr3t-value",
           "MLFLOW_TRACKING_PASSWORD": "mlflow-pw-s3cr3t-value",
           "MLFLOW_TRACKING_TOKEN": "mlflow-token-s3cr3t-value"}
CONFIG = yaml.safe_load((REPO / "conf/pachyderm/pachyderm_pipelines.yml").read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return scratch_project(tmp_path_factory.mktemp("specs") / "project")


def _invoke(project, monkeypatch, *args):
    monkeypatch.chdir(project)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, ["pachyderm", "pipelines", *args], catch_exceptions=False)


def test_every_stage_spec_validates_and_holds_no_secret(project, monkeypatch, tmp_path):
    result = _invoke(project, monkeypatch, "--output", str(tmp_path))
    assert result.exit_code == 0, result.output
    specs = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert sorted(specs) == ["aggregate", "score", "split", "train"]
    for stage, spec in specs.items():
        assert schema_errors(spec) == [], stage
        text = json.dumps(spec)
        assert not [v for v in SECRETS.values() if v in text], stage
        transform = spec["transform"]
        assert transform["cmd"] == ["fraud-detection", "--env", "pachyderm_worker",
                                    "--pipelines", stage]
        assert {s["envVar"] for s in transform["secrets"]} == {
            "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}
        assert transform["env"]["MLFLOW_TRACKING_URI"] == CONFIG["tracking_uri"]
    # The chain: raw repo -> split -> aggregate (one shard per datum) -> train.
    pfs = {stage: spec["input"]["pfs"] for stage, spec in specs.items()}
    assert (pfs["split"]["repo"], pfs["split"]["name"], pfs["split"]["glob"]) == (
        "raw-transactions", "raw", "/")
    assert (pfs["aggregate"]["repo"], pfs["aggregate"]["glob"]) == ("split", "/shards/*")
    assert specs["aggregate"]["parallelismSpec"] == {"constant": 4}
    assert (pfs["train"]["repo"], pfs["train"]["glob"]) == ("aggregate", "/")
    assert pfs["score"]["repo"] == "scoring-transactions"
    assert "model_input_table" in specs["aggregate"]["description"]


def test_printed_specs_are_the_written_ones(project, monkeypatch, tmp_path):
    printed = _invoke(project, monkeypatch)
    assert printed.exit_code == 0, printed.output
    assert _invoke(project, monkeypatch, "-o", str(tmp_path)).exit_code == 0
    specs = json.loads(printed.output[printed.output.index("["):])
    assert specs == [json.loads((tmp_path / f"{s}.json").read_text())
                     for s in ("split", "aggregate", "train", "score")]


def test_unknown_key_and_literal_secret_fail_naming_the_file(project, monkeypatch):
    config = project / "conf/pachyderm/pachyderm_pipelines.yml"
    original = config.read_text()
    try:
        config.write_text(original + "paralelism: 3\n")
        result = _invoke(project, monkeypatch)
        assert result.exit_code != 0
        assert "conf/pachyderm/pachyderm_pipelines.yml: paralelism: unknown key" in result.output
        config.write_text(original.replace("env: {}", "env: {MLFLOW_TRACKING_TOKEN: abc}"))
        result = _invoke(project, monkeypatch)
        assert result.exit_code != 0
        assert "env.MLFLOW_TRACKING_TOKEN looks like a credential" in result.output
        assert "'secrets'" in result.output and "abc" not in result.output.split("Error")[-1]
    finally:
        config.write_text(original)


def _first(data, _params):
    return data


def test_stage_reading_outside_its_input_mount_is_refused():
    pipeline = Pipeline([Node(_first, ["shards", "params:x"], "table", name="aggregate")])
    catalog = {"shards": {"input_path": "/data/shards"}, "table": {"filepath": "/pfs/out/t"}}
    with pytest.raises(PipelinesConfigError, match="dataset 'shards' reads /data/shards"):
        stage_io("aggregate", pipeline, catalog, "/pfs")
    catalog = {"shards": {"filepath": "/pfs/in/s"}, "table": {"filepath": "/tmp/t"}}
    with pytest.raises(PipelinesConfigError, match="writes /tmp/t, outside /pfs/out/"):
        stage_io("aggregate", pipeline, catalog, "/pfs")


_IOS = [StageIO("split", "raw", ("raw",), ("shards",), ("n",)),
        StageIO("aggregate", "split", ("shards",), ("table",), ("n",))]
_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parallelism=st.integers(1, 1000), cpu=st.floats(0.01, 512, allow_nan=False),
       memory=st.from_regex(r"[1-9][0-9]{0,4}(Mi|Gi|G|M)", fullmatch=True),
       project=_names, repo=_names, image=st.text(min_size=1, max_size=40),
       secret=_names, key=_names)
def test_any_valid_configuration_gives_schema_valid_specs(
        parallelism, cpu, memory, project, repo, image, secret, key):
    config = PipelinesConfig.parse({
        "project": project, "image": image, "tracking_uri": "http://mlflow:5000",
        "secrets": [{"name": secret, "key": key, "env_var": "MLFLOW_TRACKING_TOKEN"}],
        "repos": {"raw": repo},
        "stages": {"split": {"pipeline": "split"},
                   "aggregate": {"pipeline": "aggregate", "glob": "/shards/*",
                                 "parallelism": parallelism,
                                 "resources": {"cpu": cpu, "memory": memory}}},
    }, "test.yml")
    specs = pipeline_specs(_IOS, config)
    for spec in specs.values():
        assert schema_errors(spec) == []
    assert specs["aggregate"]["parallelismSpec"] == {"constant": parallelism}
    assert specs["aggregate"]["input"]["pfs"]["repo"] == "split"
    assert specs["split"]["input"]["pfs"]["repo"] == repo


@settings(max_examples=40, deadline=None)
@given(key=st.from_regex(r"[a-z_]{1,20}", fullmatch=True).filter(
    lambda k: k not in PipelinesConfig.model_fields))
def test_any_unknown_top_level_key_is_refused_by_name(key):
    with pytest.raises(PipelinesConfigError, match=f"test.yml: {key}: unknown key"):
        PipelinesConfig.parse({**CONFIG, key: 1}, "test.yml")


def test_worker_image_holds_what_the_specs_run():
    """No Docker engine here: the Dockerfile is checked against what the specs expect."""
    dockerfile = (REPO / "Dockerfile").read_text()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "openjdk-17" in dockerfile and "FROM python:3.11" in dockerfile
    assert f"WORKDIR {CONFIG['working_dir']}" in dockerfile  # transform.workingDir
    assert "COPY dist/*.whl" in dockerfile and "COPY dist/conf-fraud_detection.tar.gz" in dockerfile
    assert 'fraud-detection = "fraud_detection.__main__:main"' in pyproject  # transform.cmd[0]
    assert "tar -xzf /tmp/conf.tar.gz -C /project" in dockerfile


def test_create_without_the_input_repo_fails_with_pachds_words(project, monkeypatch):
    server = PachdServer().start()
    try:
        monkeypatch.setenv("PACHD_ADDRESS", server.address)
        result = _invoke(project, monkeypatch, "--create")
        assert result.exit_code != 0
        assert "pipeline default/split: repo default/raw-transactions not found" in result.output
        assert server.pipelines == {} and "split" not in server.repos()  # nothing half-made
    finally:
        server.stop()
