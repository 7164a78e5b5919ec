"""MlflowModelDataset against a real MLflow server: aliases, version numbers, errors, URIs;
and the provenance lookup's errors for a model or ref that the same registry lacks."""

from __future__ import annotations

import pytest
from kedro.io import DataCatalog
from kedro.io.core import DatasetError
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from pyspark.ml import PipelineModel
from pyspark.ml.feature import StringIndexerModel, VectorAssembler
from pyspark.sql import functions as F

from fraud_detection.datasets.mlflow_model import (
    MlflowModelDataset,
    RegisteredModel,
    version_scope,
)
from fraud_detection.datasets.versioned import VersionRecord
from fraud_detection.provenance import model_provenance
from fraud_detection.provenance.lookup import ProvenanceError
from tests.registry import fit_small_model, input_example, mlflow_uris, register_version

# Tests that use the registry fixture talk to a real MLflow server process.
needs_server = pytest.mark.integration

NAME = "dataset-test-model"
OTHER = "dataset-test-other"
SCOPED = "dataset-test-scoped"


@pytest.fixture(scope="module")
def registry(spark, mlflow_server):
    """Version 1 (challenger, no threshold) and 2 (champion, threshold 0.3) of one model."""
    model, table = fit_small_model(spark)
    example = input_example(model, table)
    first = register_version(mlflow_server.url, NAME, model, example, aliases=("challenger",))
    second = register_version(mlflow_server.url, NAME, model, example, aliases=("champion",),
                              threshold=0.3)
    MlflowClient(tracking_uri=mlflow_server.url).create_registered_model(OTHER)  # no versions
    return {"url": mlflow_server.url, "model": model, "table": table,
            "challenger": first, "champion": second}


def dataset(registry, ref, name=NAME) -> MlflowModelDataset:
    return MlflowModelDataset(model_name=name, model_ref=ref, tracking_uri=registry["url"])


def predictions(model, table):
    return [r[0] for r in model.transform(table).orderBy("nameOrig", "step")
            .select(F.col("prediction")).collect()]


@needs_server
def test_alias_resolves_to_its_version_with_stamps_and_threshold(registry):
    ds = dataset(registry, "champion")
    assert ds.resolved_version is None
    assert ds.loaded_version() is None and ds.saved_version() is None
    loaded = ds.load()
    version = registry["champion"]
    assert isinstance(loaded, RegisteredModel)
    assert (loaded.name, loaded.version, loaded.alias) == (NAME, version, "champion")
    assert loaded.coordinate == f"com.example.fraud:paysim-decision-tree:1.0.{version}"
    assert loaded.source_uri == f"models:/{NAME}/{version}"
    assert len(loaded.run_id) == 32
    assert loaded.threshold == pytest.approx(0.3)  # the training run's 'threshold' metric
    assert ds.resolved_version == version
    assert ds.loaded_version() == VersionRecord("mlflow", f"models:/{NAME}/{version}",
                                                str(version))
    # Registered without a recorded scope: the values its type indexer was fitted on, the
    # types train.transaction_types kept.
    assert (loaded.transaction_types, loaded.scope_source) == (
        ("CASH_OUT", "TRANSFER"), "type indexer")
    # The downloaded files are gone; the model still works, exactly like the one logged.
    assert predictions(loaded.model, registry["table"]) == predictions(
        registry["model"], registry["table"])


@needs_server
@pytest.mark.parametrize("ref", ["challenger", 1, "1"])
def test_alias_or_version_number(registry, ref):
    loaded = dataset(registry, ref).load()
    assert loaded.version == registry["challenger"] == 1
    assert loaded.alias == ("challenger" if ref == "challenger" else None)
    assert loaded.threshold is None  # nothing recorded: the scorer uses 0.5


@needs_server
def test_mlflows_current_uri_is_used_when_none_is_given(registry):
    with mlflow_uris(registry["url"]):  # what the MLflow hook does before nodes run
        loaded = MlflowModelDataset(model_name=NAME, model_ref="champion").load()
    assert loaded.version == registry["champion"]


@needs_server
def test_through_the_catalog(registry):
    catalog = DataCatalog.from_config({"model": {
        "type": "fraud_detection.datasets.mlflow_model.MlflowModelDataset",
        "model_name": NAME, "model_ref": registry["champion"], "tracking_uri": registry["url"],
    }})
    assert catalog.load("model").version == registry["champion"]


@needs_server
def test_unknown_model_name_lists_the_registered_ones(registry):
    with pytest.raises(DatasetError, match="no registered model 'fraud-detektor'") as error:
        dataset(registry, "champion", name="fraud-detektor").load()
    assert NAME in str(error.value) and OTHER in str(error.value)
    assert registry["url"] in str(error.value)


@needs_server
@pytest.mark.parametrize(("ref", "what"), [("staging", "alias 'staging'"), (99, "version 99")])
def test_unknown_alias_or_version_lists_aliases_and_versions(registry, ref, what):
    with pytest.raises(DatasetError) as error:
        dataset(registry, ref).load()
    message = str(error.value)
    assert f"model '{NAME}' has no {what}" in message
    assert "aliases: challenger -> 1, champion -> 2" in message
    assert "versions: 1, 2" in message


@needs_server
def test_provenance_of_an_unknown_model_or_ref_lists_what_exists(registry):
    """`kedro provenance model REF [--name NAME]` offers what the registry holds."""
    client = MlflowClient(tracking_uri=registry["url"])
    with pytest.raises(ProvenanceError) as error:
        model_provenance(NAME, "staging", client)
    assert str(error.value) == (f"registered model '{NAME}' has no version or alias 'staging'; "
                                "aliases: challenger -> 1, champion -> 2; versions: 1, 2")
    with pytest.raises(ProvenanceError, match="no registered model 'fraud-detektor'") as error:
        model_provenance("fraud-detektor", "champion", client)
    assert NAME in str(error.value) and OTHER in str(error.value)


@needs_server
def test_resolve_pins_the_version_for_the_next_load(registry):
    """A run resolves its model first (hooks.model_refs): a moved alias does not change it."""
    client = MlflowClient(tracking_uri=registry["url"])
    ds = dataset(registry, "champion")
    assert ds.resolve() == registry["champion"]
    client.set_registered_model_alias(NAME, "champion", str(registry["challenger"]))
    try:
        assert ds.load().version == registry["champion"]  # the version resolved first
        assert ds.load().version == registry["challenger"]  # a later load resolves again
    finally:
        client.set_registered_model_alias(NAME, "champion", str(registry["champion"]))
    with pytest.raises(DatasetError, match="has no alias 'staging'"):
        dataset(registry, "staging").resolve()


@needs_server
def test_the_scope_is_the_version_tag_else_the_model_metadata(registry):
    version = register_version(registry["url"], SCOPED, registry["model"],
                               input_example(registry["model"], registry["table"]),
                               transaction_types=("TRANSFER",))
    client = MlflowClient(tracking_uri=registry["url"])
    ds = dataset(registry, version, name=SCOPED)
    loaded = ds.load()
    assert (loaded.transaction_types, loaded.scope_source) == (("TRANSFER",), "version tag")
    client.set_model_version_tag(SCOPED, str(version), "transaction_types", "CASH_IN, PAYMENT")
    assert ds.load().transaction_types == ("CASH_IN", "PAYMENT")  # the registry's record wins
    client.delete_model_version_tag(SCOPED, str(version), "transaction_types")
    loaded = ds.load()
    assert (loaded.transaction_types, loaded.scope_source) == (("TRANSFER",), "model metadata")
    client.set_model_version_tag(SCOPED, str(version), "transaction_types", "TRANSFER,WIRE")
    with pytest.raises(DatasetError) as error:
        ds.load()
    assert str(error.value) == (
        f"models:/{SCOPED}/{version}: the version tag 'transaction_types' is not a scope: "
        "model scope 'transaction_types': 'WIRE' is not a transaction type; the scope lists "
        "one or more of CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER. Set the version's tag "
        "'transaction_types' to the types it was trained on, e.g. CASH_OUT,TRANSFER")


def test_a_model_without_a_recorded_scope_or_type_indexer_has_an_unknown_scope(spark):
    assembler = VectorAssembler(inputCols=["amount"], outputCol="features")
    assert version_scope("models:/m/1", {}, Model(), PipelineModel([assembler])) == (None, None)
    indexer = StringIndexerModel.from_labels(["PAYMENT", "DEBIT"], inputCol="type",
                                             outputCol="typeIndex")
    assert version_scope("models:/m/1", {"transaction_types": " "}, Model(),
                         PipelineModel([indexer, assembler])) == (
        ("DEBIT", "PAYMENT"), "type indexer")


@pytest.mark.parametrize("ref", ["", "  ", 0, -3, True, 1.5, "my alias", None])
def test_a_bad_model_ref_is_refused_at_once(ref):
    with pytest.raises(DatasetError, match="'model_ref' must be an alias"):
        MlflowModelDataset(model_name=NAME, model_ref=ref)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_model_name_is_required(name):
    with pytest.raises(DatasetError, match="'model_name'"):
        MlflowModelDataset(model_name=name, model_ref="champion")


def test_describe_shows_the_configuration_without_credentials():
    ds = MlflowModelDataset(model_name=NAME, model_ref="champion",
                            tracking_uri="https://bob:s3cret@mlflow.example.com/?token=abc",
                            registry_uri="databricks-uc")
    assert ds._describe() == {
        "model_name": NAME, "model_ref": "champion",
        "tracking_uri": "https://mlflow.example.com/", "registry_uri": "databricks-uc",
    }
    assert "s3cret" not in str(ds) and "abc" not in str(ds)
    local = MlflowModelDataset(model_name=NAME, tracking_uri="sqlite:////tmp/mlflow.db")
    assert local._describe()["registry_uri"] == "sqlite:////tmp/mlflow.db"  # unchanged


def test_is_read_only():
    with pytest.raises(DatasetError, match="read-only"):
        MlflowModelDataset(model_name=NAME, model_ref=1).save(object())
