"""The champion's re-scoring: started early on the evaluation rows, used only for the version
it scored (a real MLflow server, real Spark models)."""

from __future__ import annotations

from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from fraud_detection.pipelines.train.evaluation import (
    as_arrays,
    fraud_probabilities,
    ranking_metrics,
)
from fraud_detection.pipelines.train.nodes import fit_model, split_train_test
from fraud_detection.tracking.champion import ChampionScorer
from fraud_detection.tracking.registry import CHAMPION
from tests.registry import (
    fit_small_model,
    input_example,
    mlflow_uris,
    register_version,
    train_params,
)

NAME = "champion-scoring"


def _auprc(model, rows) -> float:
    return ranking_metrics(*as_arrays(fraud_probabilities(model, rows)))["auprc"]


def test_the_early_score_is_used_only_for_the_champion_it_scored(spark, mlflow_server):
    model, table = fit_small_model(spark)
    # A second model that learnt nothing: fitted on shuffled labels.
    shuffled = table.withColumn("label", (F.rand(seed=1) < 0.2).cast("int"))
    noise = fit_model(split_train_test(shuffled, train_params())[0], train_params())
    example = input_example(model, table)
    first = register_version(mlflow_server.url, NAME, model, example, aliases=(CHAMPION,))
    second = register_version(mlflow_server.url, NAME, noise, example)
    rows = table.sample(fraction=0.5, seed=3)
    assert _auprc(model, rows) != _auprc(noise, rows)  # the two versions are told apart

    with mlflow_uris(mlflow_server.url):
        client = MlflowClient()
        assert ChampionScorer(NAME, rows, "auprc").score(str(first)) == _auprc(model, rows)
        early = ChampionScorer(NAME, rows, "auprc").start()
        early.wait()
        # Scoring version 1 now would fail: the score given is the one scored early.
        client.delete_model_version(NAME, str(first))
        assert early.score(str(first)) == _auprc(model, rows)
        # Another run promoted a version meanwhile: that one is scored, not the early one.
        client.set_registered_model_alias(NAME, CHAMPION, str(second))
        assert early.score(str(second)) == _auprc(noise, rows)
