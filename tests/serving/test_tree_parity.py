"""The exported tree, evaluated in Python, gives the Spark model's probabilities row for row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.functions import vector_to_array

from fraud_detection.serving.features import model_input
from fraud_detection.serving.tree import ExportedTree
from fraud_detection.tracking.tree_export import export_pipeline
from tests.serving.conftest import BALANCE_TOLERANCE, raw_pandas

pytestmark = pytest.mark.integration
KEY = ["nameOrig", "step", "amount", "type", "nameDest", "oldbalanceOrg"]


@pytest.mark.parametrize("fitted", ["e2e_model", "noisy_model"])
def test_python_probabilities_equal_the_spark_models_bit_for_bit(e2e_raw, e2e_table, fitted,
                                                                 request):
    model = request.getfixturevalue(fitted)
    exported = json.loads(json.dumps(export_pipeline(model)))  # as the artifact holds it
    tree = ExportedTree(exported)
    if fitted == "noisy_model":
        assert len(exported["nodes"]) > 200
        assert any("left_categories" in node for node in exported["nodes"])
    spark = (model.transform(e2e_table)
             .select(*KEY, vector_to_array("probability")[1].alias("p")).toPandas()
             .sort_values(KEY, kind="stable").reset_index(drop=True))
    _, rows = e2e_raw
    features = model_input(raw_pandas(rows), BALANCE_TOLERANCE)
    python = features.assign(p=tree.predict_proba(features)[:, 1])
    python = python.sort_values(KEY, kind="stable").reset_index(drop=True)
    assert spark["p"].nunique() > (50 if fitted == "noisy_model" else 1)  # leaves reached
    different = np.flatnonzero(spark["p"].to_numpy() != python["p"].to_numpy())
    assert different.size == 0, python.loc[different[:5], [*KEY, "p"]]


def test_types_index_as_sparks_indexer_does_an_unseen_one_included(spark, e2e_model):
    tree = ExportedTree(export_pipeline(e2e_model))
    indexer = e2e_model.stages[0]
    assert tree.indexers[0]["labels"] == [list(labels) for labels in indexer.labelsArray]
    kinds = ["PAYMENT", "TRANSFER", "CASH_OUT", "DEBIT"]  # trained on TRANSFER, CASH_OUT only
    expected = [row[0] for row in indexer.transform(
        spark.createDataFrame([(k,) for k in kinds], ["type"])).select("typeIndex").collect()]
    rows = pd.DataFrame({"type": kinds, **{c: 0.0 for c in tree.features if c != "typeIndex"}})
    assert tree.vectors(rows)[:, tree.features.index("typeIndex")].tolist() == expected
