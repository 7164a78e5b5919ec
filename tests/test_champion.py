"""The champion's score: started early on the evaluation rows, used only for the version it
scored; the score recorded at registration stands in on rows of the same fingerprint (a real
MLflow server, real Spark models)."""

from __future__ import annotations

from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from fraud_detection.ml.scoring import (
    as_arrays,
    fraud_probabilities,
    ranking_metrics,
    rows_fingerprint,
)
from fraud_detection.pipelines.train.nodes import fit_model, split_train_test
from fraud_detection.tracking.champion import (
    FINGERPRINT_TAG,
    RECORDED,
    SCORED,
    ChampionScorer,
)
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
        assert ChampionScorer(NAME, rows, "auprc").score(str(first), None) == _auprc(model, rows)
        early = ChampionScorer(NAME, rows, "auprc").start({})
        early.wait()
        # Version 1 is gone: the score given is the one scored early (it has no fingerprint).
        assert early.how == {str(first): SCORED}
        client.delete_model_version(NAME, str(first))
        assert early.score(str(first), None) == _auprc(model, rows)
        # Another run promoted a version meanwhile: that one is scored, not the early one.
        client.set_registered_model_alias(NAME, CHAMPION, str(second))
        assert early.score(str(second), None) == _auprc(noise, rows)


def test_the_recorded_score_stands_in_only_for_the_same_fingerprint(spark, mlflow_server):
    model, table = fit_small_model(spark)
    name = f"{NAME}-recorded"
    version = str(register_version(mlflow_server.url, name, model, input_example(model, table),
                                   aliases=(CHAMPION,)))
    rows, other = table.sample(fraction=0.5, seed=3), table.sample(fraction=0.5, seed=4)
    inputs = {"data.raw_transactions": "digest-of-the-raw-data"}
    with mlflow_uris(mlflow_server.url):
        client = MlflowClient()
        # Tagged as a training run tags it, with a score that re-scoring would not give.
        recorded = {FINGERPRINT_TAG: rows_fingerprint(rows), "metric.auprc": "0.25", **inputs}
        for key, value in recorded.items():
            client.set_model_version_tag(name, version, key, value)
        same = ChampionScorer(name, rows, "auprc").start(inputs)
        same.wait()
        assert same.how == {}  # trained on these inputs: no early scoring
        assert same.score(version, rows_fingerprint(rows)) == 0.25
        assert same.how == {version: RECORDED}
        # Other rows: re-scored, though the inputs matched (so not early, but now).
        elsewhere = ChampionScorer(name, other, "auprc").start(inputs)
        assert elsewhere.score(version, rows_fingerprint(other)) == _auprc(model, other)
        assert elsewhere.how == {version: SCORED}
        # Other inputs: scored early; the score is the early one.
        early = ChampionScorer(name, other, "auprc").start({"data.raw_transactions": "new"})
        early.wait()
        assert early.how == {version: SCORED}
        assert early.score(version, rows_fingerprint(other)) == _auprc(model, other)
        # No metric.auroc tag: re-scored.
        unrecorded = ChampionScorer(name, rows, "auroc")
        assert unrecorded.score(version, rows_fingerprint(rows)) != 0.25
        assert unrecorded.how == {version: SCORED}
