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
from tests.kedro_project import mlflow_yml, run_kedro, scratch_project, versions
from tests.pachyderm_pipelines.specs import schema_errors
from tests.pachyderm_pipelines.worker import run_job
from tests.pachyderm_server.server import PachdServer

pytestmark = pytest.mark.integration

N_SHARDS = 2
STAGES = ("split", "aggregate", "train")
MODEL = "fraud-detector-pachyderm-pipelines-test"
# The score stage scores with the champion of the model the train stage registers.
SCORING_MODEL = ("scoring_model:\n  type: fraud_detection.datasets.MlflowModelDataset\n"
                 f"  model_name: {MODEL}\n  model_ref: champion\n")


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
        f"enabled: true\nexperiment_name: pachyderm-pipelines-test\n"
        f"registered_model_name: {MODEL}\n")
    (project / "conf/pachyderm_worker/catalog_scoring_model.yml").write_text(SCORING_MODEL)
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


def _provenance(files: dict[str, bytes]) -> list[dict]:
    return [json.loads(data) for path, data in files.items() if path.startswith("/.provenance/")]


def _job_runs(client: MlflowClient, job: str) -> list:
    experiment = client.get_experiment_by_name("pachyderm-pipelines-test").experiment_id
    return client.search_runs([experiment], f"tags.`pachyderm.job_id` = '{job}'")


def test_each_job_is_one_mlflow_run_holding_every_datum_and_named_by_its_commit(
        deployment, mlflow_server):
    server, job, jobs = deployment["server"], deployment["job"], deployment["jobs"]
    client = MlflowClient(mlflow_server.url)
    runs = {run.data.tags["pachyderm.pipeline"]: run for run in _job_runs(client, job)}
    assert sorted(runs) == sorted(STAGES)  # one run per job of each stage, whatever its datums
    for stage in STAGES:
        run = runs[stage]
        records = _provenance(server.commit(stage, job).files)
        assert len(records) == len(jobs[stage].datums)  # one file per datum ...
        assert {r["mlflow_run_id"] for r in records} == {run.info.run_id}  # ... one run
        assert sorted(r["PACH_DATUM_ID"] for r in records) == sorted(jobs[stage].datums)
        assert run.info.status == "FINISHED" and run.info.run_name == f"{stage}@{job}"
        tags = run.data.tags
        assert tags["pachyderm.job_id"] == job == tags["pachyderm.output_commit"]
        assert tags["kedro.pipelines"] == stage and "kedro.pid" not in tags
        datum_tags = {k: v for k, v in tags.items() if k.startswith("pachyderm.datum.")}
        assert {k.split(".")[2] for k in datum_tags} == set(jobs[stage].datums)
        for datum in jobs[stage].datums:
            assert datum_tags[f"pachyderm.datum.{datum}"] == "FINISHED"
    # each shard datum of the aggregate job names the shard it read, at the split's commit
    inputs = sorted(v for k, v in runs["aggregate"].data.tags.items() if k.endswith(".input"))
    assert inputs == [f"split@{job}:/shards/shard={i}" for i in range(N_SHARDS)]
    # the aggregate job logged its parameters once, the same for both datums
    assert runs["aggregate"].data.params["aggregate.balance_tolerance"] == "0.01"
    # commit -> run -> what made it: `kedro provenance run` on the run the train commit names
    [record] = _provenance(server.commit("train", job).files)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(deployment["project"])
        patch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
        shown = CliRunner().invoke(cli, ["provenance", "run", record["mlflow_run_id"], "--json"],
                                   catch_exceptions=False)
    answer = json.loads(shown.stdout)
    assert answer["status"] == "FINISHED" and answer["pachyderm"]["pachyderm.job_id"] == job
    assert [model["name"] for model in answer["models"]] == [MODEL]


def _data_answer(deployment, tracking_uri: str, *args: str, pachd: str | None = None) -> dict:
    """`kedro provenance data ... --json` as a user runs it, against the jobs' MLflow server;
    the warnings on stderr under ``stderr``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(deployment["project"])
        patch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        patch.setenv("PACHD_ADDRESS", pachd or deployment["server"].address)
        shown = CliRunner().invoke(cli, ["provenance", "data", *args, "--json"],
                                   catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    return {**json.loads(shown.stdout), "stderr": shown.stderr}


def test_provenance_data_answers_for_the_jobs_commits_both_ways(deployment, mlflow_server):
    job, url = deployment["job"], mlflow_server.url
    runs = {r.data.tags["pachyderm.pipeline"]: r.info.run_id
            for r in _job_runs(MlflowClient(url), job)}
    # the aggregate job's output commit: written by the aggregate job, read by the train job
    # (--env pachyderm names repo model-input: the record is the job's commit, not read there)
    answer = _data_answer(deployment, url, "model_input_table", job, "--env", "pachyderm")
    [made], [read] = answer["produced_by"], answer["used_by"]
    assert (made["run_id"], read["run_id"]) == (runs["aggregate"], runs["train"])
    assert (made["pachyderm_job"], read["pachyderm_job"]) == (f"aggregate@{job}", f"train@{job}")
    assert made["pfs"] == read["pfs"] == f"pfs://aggregate@{job}:/model_input_table"
    assert answer["record"]["provenance_files"] == f"aggregate@{job}:/.provenance/"
    # the train job's output commit: written by the train job; no stage reads it (the score
    # stage reads the registered champion)
    answer = _data_answer(deployment, url, "evaluation_metrics", job)
    assert [r["run_id"] for r in answer["produced_by"]] == [runs["train"]]
    assert answer["used_by"] == [] and answer["record"]["pachyderm_job"] == f"train@{job}"
    # the split job's shards, read by the aggregate job's two shard datums (one run)
    answer = _data_answer(deployment, url, "transaction_shards", job)
    assert [r["run_id"] for r in answer["produced_by"]] == [runs["split"]]
    assert [r["run_id"] for r in answer["used_by"]] == [runs["aggregate"]]
    # the raw commit, read by the split job; its record read from the raw repo through the
    # environment's PachydermDataset, which does name that repo
    answer = _data_answer(deployment, url, "raw_transactions", job, "--env", "pachyderm")
    assert answer["produced_by"] == [] and [r["run_id"] for r in answer["used_by"]] == [
        runs["split"]]
    assert answer["record"]["commit"] == job
    # a pachd that does not answer: the runs still, the record said unreadable, no traceback
    answer = _data_answer(deployment, url, "raw_transactions", job, "--env", "pachyderm",
                          pachd="grpc://127.0.0.1:9")
    assert [r["run_id"] for r in answer["used_by"]] == [runs["split"]]
    assert "127.0.0.1:9" in answer["record"]["unreadable"]
    assert "could not be read" in answer["stderr"] and "Traceback" not in answer["stderr"]
    # and from the train job's run back to the commits it read and wrote
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(deployment["project"])
        patch.setenv("MLFLOW_TRACKING_URI", url)
        shown = CliRunner().invoke(cli, ["provenance", "run", runs["train"], "--json"],
                                   catch_exceptions=False)
    record = json.loads(shown.stdout)
    assert record["inputs"] == {"model_input_table": job}
    assert record["outputs"]["evaluation_metrics"] == job


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


# --- the score stage, on the model the chain's train job registered ----------------------

SCORED_ROWS = 400


@pytest.fixture(scope="module")
def scoring(deployment, mlflow_server, spark):
    """A scoring batch (rows of the raw data and one malformed row) committed to the scoring
    repo, the score job run as pachd runs it, and the local scoring pipeline on that batch."""
    client, server, root = deployment["client"], deployment["server"], deployment["root"]
    lines = deployment["csv"].decode().splitlines()
    header = lines[0].split(",")
    bad = lines[1].split(",")
    bad[header.index("amount")] = "12x"  # not a number: quarantined with its reason
    batch = ("\n".join([lines[0], *lines[1:SCORED_ROWS + 1], ",".join(bad)]) + "\n").encode()
    client.put_file_bytes(("scoring-transactions", "master"), "/batch.csv", batch)
    job = server.commit("scoring-transactions").id
    result = run_job(client, deployment["specs"]["score"], job, root / "pfs-score",
                     extra_env={"MLFLOW_TRACKING_PASSWORD": "unused"})
    project, folder = deployment["project"], root / "scoring-batch"
    folder.mkdir()
    (folder / "batch.csv").write_bytes(batch)
    (project / "conf/local/catalog.yml").write_text(
        f"{SCORING_MODEL}scoring_transactions@spark:\n"
        "  type: fraud_detection.datasets.RawCsvDataset\n"
        f"  filepath: {folder}\n  pattern: '*.csv'\n  name: scoring_transactions\n")
    (project / "conf/local/mlflow.yml").write_text(
        mlflow_yml(mlflow_server.url, "pachyderm-pipelines-local-test", MODEL))
    run_kedro(project, ["score"])
    local = project / "data/07_model_output/scored_transactions.parquet"
    return {"job": job, "result": result, "files": server.commit("score", job).files,
            "local": spark.read.parquet(str(versions(local)[-1] / local.name))}


def test_the_score_job_scores_with_the_registered_champion_as_the_local_pipeline_does(
        deployment, scoring, mlflow_server, spark):
    client = MlflowClient(mlflow_server.url)
    files, job = scoring["files"], scoring["job"]
    [train_run] = [r for r in _job_runs(client, deployment["job"])
                   if r.data.tags["pachyderm.pipeline"] == "train"]
    [version] = client.search_model_versions(f"run_id = '{train_run.info.run_id}'")
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version
    scored = _parquet_rows(files, "/scored_transactions/")
    assert len(scored) == SCORED_ROWS
    # every row stamped with the registered version that scored it and its training run
    columns = scoring["local"].columns
    stamps = {(r[columns.index("model_version")], r[columns.index("model_run_id")])
              for r in scored}
    assert stamps == {(int(version.version), train_run.info.run_id)}
    reasons = {r[columns.index("type")]: r[columns.index("unscored_reason")] for r in scored}
    assert reasons["PAYMENT"] == "out_of_scope: PAYMENT" and reasons["TRANSFER"] is None
    # the malformed row, quarantined with its reason; the counts in the report
    [quarantined] = [row for path, data in files.items()
                     if path.startswith("/quarantined_transactions/") and path.endswith(".parquet")
                     for row in pq.read_table(io.BytesIO(data)).to_pylist()]
    assert quarantined["amount"] == "12x" and "amount" in quarantined["problems"]
    report = json.loads(files["/scoring_report.json"])
    assert report["rows"] == SCORED_ROWS == report["scored"] + report["out_of_scope"]
    assert json.loads(files["/scoring_validation.json"])["quarantined"] == 1
    # the same rows, probabilities and decisions as the local scoring pipeline on the batch
    assert scored == sorted((tuple(r) for r in scoring["local"].collect()), key=repr)
    # the output commit names the score job's run, which names the job and the model
    [record] = _provenance(files)
    [run] = _job_runs(client, job)
    assert record["mlflow_run_id"] == run.info.run_id and run.info.status == "FINISHED"
    assert run.data.tags["pachyderm.pipeline"] == "score"
    assert run.data.tags["score.model_version"] == version.version
    assert run.data.tags[f"pachyderm.datum.{scoring['result'].datums[0]}.input"] == (
        f"scoring@{job}:/")
