"""The worker contract, run as pachd runs it: `kedro pachyderm pipelines --create` against the
test pachd, a raw commit, then each stage's `transform.cmd` as a real process per datum
(tests/pachyderm_pipelines/worker.py), its /pfs/out committed as the job's output.

Chained split -> aggregate (two shard datums) -> train, tracked by a real MLflow server:
outputs equal a plain `kedro run`'s, every output commit names its MLflow run, and each run
names its Pachyderm job, pipeline, datum and output commit. A second raw commit touching the
customers of one shard changes exactly that shard's files.
"""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from google.protobuf import json_format
from mlflow import MlflowClient
from pyspark.sql import functions as F
from python_pachyderm.proto.v2.pps import pps_pb2

from fraud_detection.cli import cli
from fraud_detection.pipelines.split.nodes import shard_of_customer
from tests.kedro_project import run_kedro, scratch_project
from tests.pachyderm_pipelines.specs import schema_errors
from tests.pachyderm_pipelines.worker import run_job
from tests.pachyderm_server.server import PachdServer

pytestmark = pytest.mark.integration

N_SHARDS = 2
STAGES = ("split", "aggregate", "train")


def _pipelines_yml(project, tracking_uri: str) -> str:
    return (f"image: fraud-detection-worker:test\nworking_dir: {project}\n"
            f"tracking_uri: {tracking_uri}\n"
            "secrets: [{name: mlflow-credentials, key: password, "
            "env_var: MLFLOW_TRACKING_PASSWORD}]\n"
            "repos: {raw: raw-transactions, scoring: scoring-transactions}\n"
            "stages:\n  split: {pipeline: split}\n"
            "  aggregate: {pipeline: aggregate, glob: /shards/*, parallelism: 2}\n"
            "  train: {pipeline: train}\n  score: {pipeline: score}\n")


@pytest.fixture(scope="module")
def deployment(spark, mlflow_server, tmp_path_factory):
    """Pipelines created in the test pachd, one job per stage run on a raw commit."""
    root = tmp_path_factory.mktemp("pachyderm-pipelines")
    project = scratch_project(root / "project")
    (project / "conf/pachyderm_worker/parameters_split.yml").write_text(
        f"split:\n  n_shards: {N_SHARDS}\n")
    (project / "conf/local/parameters_split.yml").write_text(f"split:\n  n_shards: {N_SHARDS}\n")
    (project / "conf/pachyderm/pachyderm_pipelines.yml").write_text(
        _pipelines_yml(project, mlflow_server.url))
    (project / "conf/pachyderm_worker/mlflow.yml").write_text(
        "enabled: true\nexperiment_name: pachyderm-pipelines-test\n"
        "registered_model_name: fraud-detector-pachyderm-pipelines-test\n")
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 3000}})
    server = PachdServer().start()
    client = server.client()
    client.create_repo("raw-transactions")
    client.create_repo("scoring-transactions")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("PACHD_ADDRESS", server.address)
        created = CliRunner().invoke(cli, ["pachyderm", "pipelines", "--create"],
                                     catch_exceptions=False)
        printed = CliRunner().invoke(cli, ["pachyderm", "pipelines"], catch_exceptions=False)
    specs = {spec["pipeline"]["name"]: spec for spec in
             json.loads(printed.output[printed.output.index("["):])}
    csv = (project / "data/01_raw/transactions.csv").read_bytes()
    client.put_file_bytes(("raw-transactions", "master"), "/transactions.csv", csv)
    job = server.commit("raw-transactions").id
    jobs = {stage: run_job(client, specs[stage], job, root / "pfs",
                           extra_env={"MLFLOW_TRACKING_PASSWORD": "unused"})
            for stage in STAGES}
    yield {"server": server, "client": client, "project": project, "root": root,
           "specs": specs, "created": created, "job": job, "jobs": jobs, "csv": csv}
    server.stop()


def _parquet_rows(files: dict[str, bytes], prefix: str) -> list[tuple]:
    rows = []
    for path, data in files.items():
        if path.startswith(prefix) and path.endswith(".parquet"):
            rows.extend(tuple(r.values()) for r in pq.read_table(io.BytesIO(data)).to_pylist())
    return sorted(rows, key=repr)


def test_create_sends_each_spec_to_pachd_and_updates_on_a_second_run(deployment):
    server, specs = deployment["server"], deployment["specs"]
    assert deployment["created"].exit_code == 0, deployment["created"].output
    for name in ("split", "aggregate", "train", "score"):
        assert f"pipeline {name}: created" in deployment["created"].output
        record = server.pipelines[("default", name)]
        expected = json_format.ParseDict(specs[name], pps_pb2.CreatePipelineRequest())
        assert record.request == expected and record.version == 1
        assert schema_errors(specs[name]) == []
    # pachd made each output repo, its branch downstream of the input's branch
    assert {"split", "aggregate", "train", "score"} <= set(server.repos())
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(deployment["project"])
        patch.setenv("PACHD_ADDRESS", server.address)
        again = CliRunner().invoke(cli, ["pachyderm", "pipelines", "--create"],
                                   catch_exceptions=False)
    assert again.exit_code == 0 and "pipeline aggregate: updated" in again.output
    assert server.pipelines[("default", "aggregate")].version == 2


def test_chained_jobs_write_shards_features_and_model_into_their_output_commits(deployment):
    jobs, server, job = deployment["jobs"], deployment["server"], deployment["job"]
    split_files = server.commit("split", job).files
    shard_dirs = {p.split("/")[2] for p in split_files if p.startswith("/shards/")}
    assert shard_dirs == {f"shard={i}" for i in range(N_SHARDS)}
    assert all(p.split("/")[-1].startswith("part-") and len(p.split("/")[-1]) == 45
               for p in split_files if p.startswith("/shards/"))
    assert len(jobs["aggregate"].datums) == N_SHARDS >= 2  # one datum per shard
    aggregate_files = server.commit("aggregate", job).files
    assert len([p for p in aggregate_files if p.startswith("/model_input_table/")]) == N_SHARDS
    train_files = server.commit("train", job).files
    assert "/evaluation_metrics.json" in train_files
    assert any(p.startswith("/model/") for p in train_files)
    for stage in STAGES:
        commit = server.commit(stage, job)
        assert commit.finished and not commit.error


def test_outputs_equal_a_plain_run_and_each_shard_datum_equals_its_rows(deployment, spark):
    project, server, job = deployment["project"], deployment["server"], deployment["job"]
    run_kedro(project, ["split", "aggregate"])  # a plain run on the same raw CSV
    [plain_dir] = sorted((project / "data/04_feature/model_input_table.parquet").iterdir())
    plain = spark.read.parquet(str(plain_dir / "model_input_table.parquet"))
    aggregate = server.commit("aggregate", job).files
    expected = sorted((tuple(r) for r in plain.collect()), key=repr)
    assert _parquet_rows(aggregate, "/model_input_table/") == expected
    # each datum's file holds exactly its shard's rows of the whole-table aggregation
    for path, data in aggregate.items():
        if not path.startswith("/model_input_table/"):
            continue
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
        [shard] = {r["shard"] for r in spark.createDataFrame(
            [(r["nameOrig"],) for r in rows], ["nameOrig"]).select(
            shard_of_customer(N_SHARDS).alias("shard")).collect()}
        mine = plain.where(shard_of_customer(N_SHARDS) == F.lit(shard))
        assert sorted((tuple(r.values()) for r in rows), key=repr) == sorted(
            (tuple(r) for r in mine.collect()), key=repr)


def test_each_output_commit_names_its_mlflow_run_and_the_run_names_the_job(
        deployment, mlflow_server):
    server, job, jobs = deployment["server"], deployment["job"], deployment["jobs"]
    client = MlflowClient(mlflow_server.url)
    for stage in STAGES:
        files = server.commit(stage, job).files
        records = [json.loads(data) for path, data in files.items()
                   if path.startswith("/.provenance/")]
        assert len(records) == len(jobs[stage].datums)
        for record in records:
            run = client.get_run(record["mlflow_run_id"])
            assert run.info.status == "FINISHED"
            tags = run.data.tags
            assert tags["pachyderm.job_id"] == job == record["PACH_JOB_ID"]
            assert tags["pachyderm.output_commit"] == job
            assert tags["pachyderm.pipeline"] == stage
            assert tags["pachyderm.datum_id"] in jobs[stage].datums
            assert tags["kedro.pipelines"] == stage
    # the job's runs are found from the job's commit ID alone
    found = client.search_runs(
        [client.get_experiment_by_name("pachyderm-pipelines-test").experiment_id],
        f"tags.`pachyderm.job_id` = '{job}'")
    assert len(found) == 1 + N_SHARDS + 1


def test_a_raw_commit_touching_one_shard_changes_exactly_that_shard(deployment, spark):
    server, client, csv = deployment["server"], deployment["client"], deployment["csv"]
    lines = csv.decode().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    customer = first[header.index("nameOrig")]
    [row] = spark.createDataFrame([(customer,)], ["nameOrig"]).select(
        shard_of_customer(N_SHARDS).alias("shard")).collect()
    touched = row["shard"]
    first[header.index("step")] = "700"  # one new transaction of a customer we already had
    changed = "\n".join([*lines, ",".join(first)]) + "\n"
    before = server.commit("split", deployment["job"]).files
    client.put_file_bytes(("raw-transactions", "master"), "/transactions.csv", changed.encode())
    job = server.commit("raw-transactions").id
    run_job(client, deployment["specs"]["split"], job, deployment["root"] / "pfs2")
    after = server.commit("split", job).files

    def shard_files(files, shard):
        return {p: d for p, d in files.items() if p.startswith(f"/shards/shard={shard}/")}

    for shard in range(N_SHARDS):
        if shard == touched:
            assert shard_files(after, shard) != shard_files(before, shard)
            assert shard_files(after, shard).keys().isdisjoint(shard_files(before, shard))
        else:
            assert shard_files(after, shard) == shard_files(before, shard)  # names and bytes
