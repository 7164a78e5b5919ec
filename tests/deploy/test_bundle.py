"""The Databricks Asset Bundle, checked offline: schema, typed job classes, and the wheel."""

from __future__ import annotations

import configparser
import copy
import re
import tarfile
import zipfile

import pytest
from databricks.bundles.core import Bundle
from databricks.bundles.jobs import Job

from tests.deploy.bundle import (
    for_target,
    merged_bundle,
    resolve_variables,
    schema_errors,
    variable_values,
)
from tests.kedro_project import REPO

TRAINING, SCORING = "fraud_detection_training", "fraud_detection_scoring"
CLASSIC, SERVERLESS = ("dev", "prod"), ("dev_serverless", "prod_serverless")


@pytest.fixture(scope="module")
def bundle():
    return merged_bundle()


def _jobs(bundle, target) -> dict[str, Job]:
    config = for_target(bundle, target)
    return {name: Job.from_dict(copy.deepcopy(job))
            for name, job in config["resources"]["jobs"].items()}


def _wheel_task(job: Job):
    [task] = job.tasks
    return task, task.python_wheel_task


def _options(parameters) -> dict[str, str]:
    return dict(p.removeprefix("--").split("=", 1) for p in parameters)


def test_bundle_with_its_resources_validates_against_the_published_schema(bundle):
    assert bundle["include"] == ["resources/*.yml"]
    assert set(bundle["resources"]["jobs"]) == {TRAINING, SCORING}
    assert schema_errors(bundle) == []


@pytest.mark.parametrize("target", CLASSIC + SERVERLESS)
def test_each_target_validates_with_its_overrides_applied(bundle, target):
    assert schema_errors(for_target(bundle, target)) == []


def test_schema_check_reports_the_real_mistake(bundle):
    """The validator is not vacuous: a typo and a bad enum value are found where they are."""
    broken = copy.deepcopy(bundle)
    broken["resources"]["jobs"][TRAINING]["tasks"][0]["python_wheel_tsk"] = {}
    broken["resources"]["jobs"][SCORING]["schedule"]["pause_status"] = "SOMETIMES"
    errors = "\n".join(schema_errors(broken))
    assert f"resources/jobs/{TRAINING}/tasks/0: Additional properties" in errors
    assert "'python_wheel_tsk' was unexpected" in errors
    assert f"resources/jobs/{SCORING}/schedule/pause_status: 'SOMETIMES' is not one of" in errors


def test_targets_dev_is_development_and_default_prod_is_production(bundle):
    targets = bundle["targets"]
    assert targets["dev"] == targets["dev"] | {"mode": "development", "default": True}
    assert targets["prod"]["mode"] == "production"
    assert targets["dev_serverless"]["mode"] == "development"
    assert targets["prod_serverless"]["mode"] == "production"
    assert [name for name, t in targets.items() if t.get("default")] == ["dev"]


@pytest.mark.parametrize("target", CLASSIC + SERVERLESS)
def test_jobs_load_with_the_typed_classes_and_run_the_wheel(bundle, target):
    jobs = _jobs(bundle, target)
    assert set(jobs) == {TRAINING, SCORING}
    for job in jobs.values():
        _, wheel_task = _wheel_task(job)
        assert wheel_task.package_name == "fraud_detection"
        assert wheel_task.entry_point == "fraud-detection"
        options = _options(wheel_task.parameters)
        assert options["env"] == "databricks"
        assert options["conf-source"] == (
            "${workspace.file_path}/dist/conf-fraud_detection.tar.gz")
        assert {"databricks.catalog=${var.catalog}", "databricks.schema=${var.schema}",
                "databricks.volume=${var.volume}"} <= set(options["params"].split(","))


@pytest.mark.parametrize("target", CLASSIC)
def test_classic_targets_run_on_a_job_cluster_with_the_wheel_installed(bundle, target):
    config = for_target(bundle, target)
    variables = Bundle(target=target, variables=variable_values(config))
    for job in _jobs(bundle, target).values():
        task, _ = _wheel_task(job)
        [cluster] = job.job_clusters
        assert task.job_cluster_key == cluster.job_cluster_key and task.environment_key is None
        assert [library.whl for library in task.libraries] == ["./dist/*.whl"]
        assert not job.environments
        spec = cluster.new_cluster
        assert variables.resolve_variable(spec.num_workers) >= 1
        assert variables.resolve_variable(spec.spark_version).startswith("17.")
        assert spec.data_security_mode.value == "SINGLE_USER"


@pytest.mark.parametrize("target", SERVERLESS)
def test_serverless_targets_install_the_wheel_in_a_job_environment(bundle, target):
    for job in _jobs(bundle, target).values():
        task, _ = _wheel_task(job)
        [environment] = job.environments
        assert task.environment_key == environment.environment_key
        assert task.job_cluster_key is None and not task.libraries and not job.job_clusters
        assert environment.spec.dependencies == ["./dist/*.whl"]


def test_training_is_one_task_running_the_default_pipeline(bundle):
    """No --pipelines: the default pipeline, split + aggregate + train, in one Kedro run."""
    from fraud_detection.pipeline_registry import TRAINING as TRAINING_PIPELINES

    _, wheel_task = _wheel_task(_jobs(bundle, "dev")[TRAINING])
    assert "pipelines" not in _options(wheel_task.parameters)
    assert TRAINING_PIPELINES == ("split", "aggregate", "train")


def test_scoring_runs_the_score_pipeline_on_a_paused_schedule(bundle):
    config = for_target(bundle, "prod")
    job = Job.from_dict(resolve_variables(config["resources"]["jobs"][SCORING],
                                          variable_values(config)))
    assert job.schedule.pause_status.value == "PAUSED"
    assert job.schedule.quartz_cron_expression == "0 0 6 * * ?"
    _, wheel_task = _wheel_task(job)
    options = _options(wheel_task.parameters)
    assert options["pipelines"] == "score"
    assert "score.model_ref={{job.parameters.model_ref}}" in options["params"].split(",")
    assert [(p.name, p.default) for p in job.parameters] == [("model_ref", "champion")]
    assert (REPO / "src" / "fraud_detection" / "pipelines" / "score").is_dir()


def test_bundle_builds_the_wheel_with_make_package_and_ships_the_conf_archive(bundle):
    [artifact] = bundle["artifacts"].values()
    assert artifact["type"] == "whl" and artifact["build"] == "make package"
    assert [f["source"] for f in artifact["files"]] == ["dist/fraud_detection-*.whl"]
    assert bundle["sync"]["include"] == ["dist/conf-fraud_detection.tar.gz"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^package:", makefile, re.MULTILINE), "Makefile has no 'package' target"


@pytest.mark.integration
def test_tasks_name_the_package_and_entry_point_of_the_wheel_kedro_package_builds(
        bundle, packaged):
    with zipfile.ZipFile(packaged.wheel) as wheel:
        names = wheel.namelist()
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        [top_level] = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        scripts = configparser.ConfigParser()
        scripts.read_string(wheel.read(entry_points).decode())
        packages = wheel.read(top_level).decode().split()
    with tarfile.open(packaged.conf_archive) as archive:
        archived = set(archive.getnames())
    for target in CLASSIC + SERVERLESS:
        for job in _jobs(bundle, target).values():
            _, wheel_task = _wheel_task(job)
            assert wheel_task.package_name in packages
            target_ref = scripts["console_scripts"][wheel_task.entry_point]
            assert target_ref == f"{wheel_task.package_name}.__main__:main"
            conf_source = _options(wheel_task.parameters)["conf-source"]
            assert conf_source.rsplit("/", 1)[1] == packaged.conf_archive.name
    assert {"conf/databricks/catalog.yml", "conf/databricks/mlflow.yml",
            "conf/databricks/spark.yml", "conf/base/catalog.yml"} <= archived
    assert not [name for name in archived if name.startswith("conf/local/") and
                name.endswith(".yml")]
