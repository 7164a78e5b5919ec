"""`kedro run --env pachyderm` against the test pachd, tracked by a real MLflow server.

Every MLflow run is linked to its Pachyderm commits in both directions: the run names the
commits it read and wrote (dataset inputs, tags), and each commit it wrote names the run
(commit description and provenance file). pachd finishes commits asynchronously: here each
commit takes a second to go from finishing to finished, as compaction does on a cluster.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from fraud_detection.cli import cli
from fraud_detection.datasets import PachydermDataset
from fraud_detection.provenance import data_provenance, run_provenance, stored_record
from tests.kedro_project import mlflow_yml, run_kedro, scratch_project, versions
from tests.pachyderm_server.fixtures import pachd  # noqa: F401  (fixture)
from tests.provenance_expected import TRAINING

pytestmark = pytest.mark.integration

REPO_OF = {"quarantined_transactions": "quarantined-transactions",
           "raw_validation_report": "validation-reports",
           "transaction_shards": "transaction-shards", "model_input_table": "model-input",
           "fraud_model": "fraud-model", "evaluation_metrics": "evaluation"}
OUTPUT_REPOS = tuple(REPO_OF.values())


def test_pipeline_in_pachyderm_links_runs_and_commits_both_ways(
    spark, pachd, mlflow_server, tmp_path, monkeypatch  # noqa: F811
):
    monkeypatch.setenv("PACHD_ADDRESS", pachd.address)
    pachd.finishing_delay = 1.0
    project = scratch_project(tmp_path / "pachyderm")
    tracking = mlflow_yml(mlflow_server.url, "pachyderm-test", "fraud-detector-pachyderm-test")
    for env in ("local", "pachyderm"):  # each environment reads its own mlflow.yml
        (project / f"conf/{env}/mlflow.yml").write_text(tracking)
    run_kedro(project, ["data_generation"], params={"data_generation": {"n_rows": 8000}})
    local_csv = project / "data/01_raw/transactions.csv"

    # Load the local raw file into the raw repo, bytes unchanged.
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["pachyderm", "put-raw"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    raw_commit = pachd.commit("raw-transactions").id
    assert f"raw-transactions@{raw_commit}:/transactions.csv" in result.output
    assert pachd.read("raw-transactions", raw_commit, "/transactions.csv") == local_csv.read_bytes()

    run_kedro(project, env="pachyderm")

    client = MlflowClient(mlflow_server.url)
    [run] = client.search_runs([client.get_experiment_by_name("pachyderm-test").experiment_id],
                               "tags.`kedro.env` = 'pachyderm'")
    run_id, tags = run.info.run_id, run.data.tags
    assert run.info.status == "FINISHED"

    # Run -> commits: every output is one finished commit naming the run; each save
    # returned only once pachd had finished its commit (the last one too).
    for repo in OUTPUT_REPOS:
        [commit] = pachd.commits(repo)
        assert commit.finished and not commit.error
        description = json.loads(commit.description)
        assert description["mlflow_run_id"] == run_id
        assert description["kedro_run_id"] == tags["kedro.run_id"]
        assert description["node"] and description["git_commit"] == tags["git.commit"]
        provenance = [p for p in commit.files if p.startswith("/.provenance/")]
        assert provenance, f"no provenance file in {repo}"
        assert json.loads(commit.files[provenance[0]])["mlflow_run_id"] == run_id
    shards = pachd.commit("transaction-shards")
    assert {p.split("/")[2] for p in shards.files if p.startswith("/shards/shard=")} == {
        f"shard={i}" for i in range(16)}

    # ... and the run names each commit: tags and mlflow.data inputs with pfs:// sources.
    assert tags["kedro.input.raw_transactions"] == raw_commit
    model_commit = pachd.commit("model-input").id
    assert tags["kedro.output.model_input_table"] == model_commit
    assert tags["pachyderm.output.model_input_table"] == (
        f"pfs://{pachd.address}/default/model-input@{model_commit}:/model_input_table")
    sources = {e.dataset.name: (e.dataset.source_type, json.loads(e.dataset.source))
               for e in run.inputs.dataset_inputs}
    kind, source = sources["raw_transactions@spark"]
    assert kind == "pachyderm"
    assert source["uri"] == f"pfs://{pachd.address}/default/raw-transactions@{raw_commit}:/transactions.csv"
    assert source["version"] == raw_commit
    # Each output commit names exactly the stored versions it was derived from (its
    # description and provenance file alike), the local plots too; the run's inputs and
    # outputs stay apart.
    commits = {name: pachd.commit(repo).id for name, repo in REPO_OF.items()}
    commits["raw_transactions@spark"] = raw_commit
    for name, repo in REPO_OF.items():
        commit = pachd.commit(repo)
        [path] = [p for p in commit.files if p.startswith("/.provenance/")]
        stored, params = TRAINING[name]
        for record in (json.loads(commit.files[path]), json.loads(commit.description)):
            assert record["input_commits"] == {i: commits[i] for i in stored}, name
            assert {i: v["version"] for i, v in record["inputs"].items()} == (
                {i: commits[i] for i in stored}), name
            assert set(record["parameters"]) == params, name
    [plots] = versions(project / "data/08_reporting/evaluation_plots")
    plots_record = json.loads((plots / "provenance.json").read_text())
    assert {i: v["version"] for i, v in plots_record["inputs"].items()} == (
        {i: commits[i] for i in TRAINING["evaluation_plots"][0]})
    assert run_provenance(run_id, client)["inputs"] == {"raw_transactions": raw_commit}
    assert run_provenance(run_id, client)["outputs"] == {
        **{name: commits[name] for name in REPO_OF}, "evaluation_plots": plots.name}

    # Both provenance lookups.
    record = run_provenance(run_id, client)
    assert record["inputs"]["raw_transactions"] == raw_commit
    assert record["pachyderm"]["pachyderm.input.raw_transactions"].endswith(
        f"raw-transactions@{raw_commit}:/transactions.csv")
    dataset = PachydermDataset(repo="model-input", path="/model_input_table",
                               file_format="parquet_dir")
    found = data_provenance("model_input_table", model_commit, client,
                            stored_record(dataset, model_commit))
    assert [r["run_id"] for r in found["produced_by"]] == [run_id]
    assert found["record"]["description"]["mlflow_run_id"] == run_id
    assert found["record"]["provenance_file"]["mlflow_run_id"] == run_id
    used = data_provenance("raw_transactions", raw_commit, client)
    assert [r["run_id"] for r in used["used_by"]] == [run_id]
