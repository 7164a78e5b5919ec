"""The bundle's model serving endpoint, checked offline: schema, typed classes, the model."""

from __future__ import annotations

import copy

import pytest
from databricks.bundles.model_serving_endpoints import ModelServingEndpoint

from tests.deploy.bundle import for_target, merged_bundle, resolve_variables, schema_errors

ENDPOINT = "fraud_detection_champion"
TARGETS = ("dev", "prod", "dev_serverless", "prod_serverless")


@pytest.fixture(scope="module")
def bundle():
    return merged_bundle()


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_deploys_the_endpoint_and_validates(bundle, target):
    config = for_target(bundle, target)
    assert ENDPOINT in config["resources"]["model_serving_endpoints"]
    assert schema_errors(config) == []


def test_the_endpoint_serves_the_champion_version_of_the_registered_model(bundle):
    config = for_target(bundle, "prod")
    variables = {name: spec.get("default") for name, spec in config["variables"].items()}
    variables["champion_version"] = "7"
    raw = config["resources"]["model_serving_endpoints"][ENDPOINT]
    endpoint = ModelServingEndpoint.from_dict(resolve_variables(copy.deepcopy(raw), {
        **variables, "workspace.host": "example.cloud.databricks.com"}))
    [entity] = endpoint.config.served_entities
    # conf/databricks/mlflow.yml's registered_model_name, with the bundle's catalog and schema
    assert entity.entity_name == "main.fraud_detection.fraud_detector"
    assert entity.entity_version == "7"
    assert entity.environment_vars["MLFLOW_REGISTRY_URI"] == "databricks-uc"
    assert entity.environment_vars["DATABRICKS_TOKEN"] == "{{secrets/fraud-detection/token}}"
    [route] = endpoint.config.traffic_config.routes
    assert (route.served_model_name, route.traffic_percentage) == (entity.name, 100)


def test_a_bad_workload_size_is_reported(bundle):
    config = for_target(bundle, "dev")
    endpoint = config["resources"]["model_serving_endpoints"][ENDPOINT]
    endpoint["config"]["served_entities"][0]["scale_to_zero_enabled"] = "sometimes"
    errors = schema_errors(config)
    assert any("scale_to_zero_enabled" in error for error in errors), errors
