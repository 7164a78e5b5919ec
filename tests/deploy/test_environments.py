"""conf/databricks and conf/cluster resolve through Kedro's own config loader and catalog.

Databricks secrets come from environment variables (Kedro credentials with ``oc.env``); the
tests give them fake values and check that they reach the credentials and nothing prints them.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from fraud_detection import settings
from fraud_detection.hooks import spark as spark_hook
from fraud_detection.tracking.versions import stored_dataset
from tests.kedro_project import REPO

HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
TOKEN = "dapi-not-a-real-token-5f4dcc3b5aa765d61d8327deb882cf99"
VOLUME = "/Volumes/main/fraud_detection/data"


def loader(env: str, runtime_params: dict[str, Any] | None = None) -> OmegaConfigLoader:
    """The loader Kedro builds for ``kedro run --env <env>`` (settings.CONFIG_LOADER_ARGS)."""
    return OmegaConfigLoader(conf_source=str(REPO / "conf"), env=env,
                             runtime_params=runtime_params or {},
                             **settings.CONFIG_LOADER_ARGS)


@pytest.fixture
def secrets(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", HOST)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)


def _base_catalog() -> dict[str, Any]:
    return loader("base")["catalog"]


def _relative_data_path(filepath: str) -> str:
    parts = PurePosixPath(filepath).parts
    assert parts[0] == "data", f"base catalog path outside data/: {filepath}"
    return "/".join(parts[1:])


def test_every_base_dataset_is_in_the_databricks_catalog_on_the_volume(secrets):
    """Same type and options as conf/base; only the path moves into the UC volume."""
    base, databricks = _base_catalog(), loader("databricks")["catalog"]
    missing = sorted(set(base) - set(databricks))
    assert not missing, f"add these datasets to conf/databricks/catalog*.yml: {missing}"
    assert set(databricks) == set(base)
    for name, entry in base.items():
        _assert_moved_to_the_volume(name, entry, databricks[name])


def _assert_moved_to_the_volume(name: str, entry: dict[str, Any], moved: dict[str, Any]) -> None:
    if "dataset" in entry:  # a wrapper (CachedDataset): the wrapped dataset moves
        _assert_moved_to_the_volume(name, entry["dataset"], moved["dataset"])
    if "filepath" in entry:
        assert moved["filepath"] == f"{VOLUME}/{_relative_data_path(entry['filepath'])}"
    same = {k: v for k, v in entry.items() if k not in ("filepath", "model_name", "dataset")}
    assert {k: v for k, v in moved.items() if k in same} == same, name
    assert set(moved) == set(entry), name


def test_catalog_schema_and_volume_are_run_parameters(secrets):
    params = {"databricks": {"catalog": "prod", "schema": "fraud", "volume": "lake"}}
    config = loader("databricks", params)
    for name, entry in config["catalog"].items():
        entry = entry.get("dataset", entry)  # the dataset a CachedDataset wraps
        if "filepath" in entry:
            assert entry["filepath"].startswith("/Volumes/prod/fraud/lake/"), name
    assert config["catalog"]["scoring_model"]["model_name"] == "prod.fraud.fraud_detector"
    assert config["mlflow"]["registered_model_name"] == "prod.fraud.fraud_detector"


def test_every_databricks_catalog_entry_instantiates_with_secrets_never_printed(
        secrets, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    config = loader("databricks")
    credentials = config["credentials"]
    catalog = DataCatalog.from_config(catalog=config["catalog"], credentials=credentials)
    datasets = {name: catalog[name] for name in config["catalog"]}
    print(catalog)
    for name, dataset in datasets.items():
        print(name, dataset)
        dataset = stored_dataset(dataset)
        if getattr(dataset, "_filepath", None) is not None:
            assert str(dataset._filepath).startswith(VOLUME), name
    assert credentials["databricks"] == {"host": HOST, "token": TOKEN}
    assert type(stored_dataset(datasets["fraud_model"])).__name__ == "SparkMLModelDataset"
    out = capsys.readouterr()
    shown = out.out + out.err + caplog.text + repr(config["parameters"])
    assert "adb-1234567890123456" in HOST and TOKEN not in shown and HOST not in shown


def test_credentials_are_empty_on_databricks_compute_without_a_login(monkeypatch):
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    monkeypatch.delenv("DATABRICKS_TOKEN", raising=False)
    assert loader("databricks")["credentials"]["databricks"] == {"host": "", "token": ""}


def test_mlflow_settings_point_at_databricks_and_unity_catalog(secrets):
    from fraud_detection.tracking.config import MlflowSettings

    config = loader("databricks")
    raw = config["mlflow"]
    assert (raw["tracking_uri"], raw["registry_uri"]) == ("databricks", "databricks-uc")
    assert raw["registered_model_name"] == "main.fraud_detection.fraud_detector"
    assert raw["registered_model_name"] == config["catalog"]["scoring_model"]["model_name"]
    assert raw["experiment_name"] == "/Shared/fraud-detection"
    base = loader("base")["mlflow"]
    assert {k: raw[k] for k in ("roles", "champion", "log")} == {
        k: base[k] for k in ("roles", "champion", "log")}
    mlflow_settings = MlflowSettings.from_config(raw, REPO)
    assert mlflow_settings.tracking_uri == "databricks"
    assert mlflow_settings.registry_uri == "databricks-uc"
    assert mlflow_settings.artifact_location is None
    assert len(mlflow_settings.registered_model_name.split(".")) == 3


class _Builder:
    """Stands in for SparkSession.builder: records what the hook asks for."""

    def __init__(self, record: dict[str, str]) -> None:
        self.record = record

    def appName(self, name):
        return self

    def remote(self, url):
        self.record["remote"] = url
        return self

    def config(self, key, value):
        self.record[key] = value
        return self

    def getOrCreate(self):
        return self.record


def _session_options(monkeypatch, spark_conf, active=None, checked=None) -> dict[str, str]:
    """The builder options ``build_spark_session`` sets; ``checked`` gets the masters it
    checks for an answer (tests/test_spark_hook.py tests the check itself)."""
    record: dict[str, str] = {}
    monkeypatch.setattr(spark_hook, "check_master_reachable",
                        (checked if checked is not None else []).append)

    class FakeSparkSession:
        builder = _Builder(record)

        @staticmethod
        def getActiveSession():
            return active

    monkeypatch.setattr(spark_hook, "SparkSession", FakeSparkSession)
    return spark_hook.build_spark_session(spark_conf, "test")


def test_databricks_spark_conf_sets_no_master_and_drops_settings_the_cluster_owns(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    conf = loader("databricks")["spark"]
    assert "spark.master" not in conf
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")
    options = _session_options(monkeypatch, conf)
    assert options == {"spark.sql.session.timeZone": "UTC"}
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION")
    assert _session_options(monkeypatch, conf)["spark.master"] == "local[*]"


def test_cluster_env_points_spark_master_at_a_standalone_master(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    default = loader("cluster")["spark"]
    assert default["spark.master"] == "spark://127.0.0.1:7077"
    assert default["spark.pyspark.python"] is None
    checked = []
    options = _session_options(monkeypatch, default, checked=checked)
    assert options["spark.master"] == "spark://127.0.0.1:7077"
    assert checked == ["spark://127.0.0.1:7077"]  # before the session is built
    assert "spark.pyspark.python" not in options  # PYSPARK_PYTHON of the driver applies
    params = {"spark": {"master": "spark://10.0.0.5:7077",
                        "pyspark": {"python": "/opt/fraud/bin/python"},
                        "executor": {"memory": "8g"}}}
    options = _session_options(monkeypatch, loader("cluster", params)["spark"])
    assert options["spark.master"] == "spark://10.0.0.5:7077"
    assert options["spark.pyspark.python"] == "/opt/fraud/bin/python"
    assert options["spark.executor.memory"] == "8g"
    assert options["spark.driver.memory"] == loader("base")["spark"]["spark.driver.memory"]


def test_spark_connect_replaces_the_master(monkeypatch):
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:15002")
    options = _session_options(monkeypatch, loader("cluster")["spark"])
    assert options["remote"] == "sc://127.0.0.1:15002" and "spark.master" not in options
