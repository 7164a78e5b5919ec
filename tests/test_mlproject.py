"""`mlflow run . --env-manager local` is one Kedro run attached to one MLflow run, in the
experiment of conf/<env>/mlflow.yml (not MLflow's Default), as the README shows it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.kedro_project import REPO, scratch_project

pytestmark = pytest.mark.integration

EXPERIMENT = "mlproject-test"  # conf/local/mlflow.yml's; `mlflow run` is not told it
MODEL = "fraud-detector-mlproject-test"


def test_mlflow_run_yields_exactly_one_finished_run_in_the_configured_experiment(
    mlflow_server, tmp_path
):
    """With no data yet, `main` first generates it in an MLflow run of its own, so the
    training run's parameters are the values it trained with, not generation's defaults.
    Both land in the experiment mlflow.yml names, the project's default experiment."""
    project = scratch_project(tmp_path / "mlproject")
    for name in ("MLproject", "conda.yaml"):
        shutil.copy(REPO / name, project / name)
    (project / "conf/local/mlflow.yml").write_text(
        f"registered_model_name: {MODEL}\nexperiment_name: {EXPERIMENT}\n"
    )
    (project / "conf/local/parameters_data_generation.yml").write_text(
        "data_generation:\n  n_rows: 8000\n  seed: 42\n"
    )

    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.url,
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for name in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "KEDRO_ENV"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(project), "--env-manager", "local",
         "-P", "max_depth=5", "-P", "split_method=time"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    assert len(client.search_runs([experiment])) == 2  # generation, then training
    [run] = client.search_runs([experiment], "tags.`kedro.pipelines` = '__default__'")
    assert run.info.status == "FINISHED"
    params, tags = run.data.params, run.data.tags
    assert params["max_depth"] == "5"  # logged by `mlflow run`
    assert params["train.model.max_depth"] == "5" and params["train.split.method"] == "time"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["kedro.pipelines"] == "__default__"
    assert "auprc" in run.data.metrics
    [version] = client.search_model_versions(f"name = '{MODEL}'")
    assert version.run_id == run.info.run_id

    [generated] = client.search_runs([experiment], "tags.`kedro.pipelines` != '__default__'")
    assert generated.info.status == "FINISHED"
    assert generated.data.tags["kedro.pipelines"] == "data_generation"
    # Each run logs the parameters its nodes read, nothing else.
    assert generated.data.params["data_generation.n_rows"] == "8000"
    assert not any(key.startswith("train.") for key in generated.data.params)
    assert not any(key.startswith("data_generation.") for key in params)
    raw = "raw_transactions"
    assert tags[f"kedro.input.{raw}"] == generated.data.tags[f"kedro.output.{raw}"]
