"""The online validation gives every row the batch validation's problems, word for word."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.pipelines.split.rows import SCORING, parse_transactions
from fraud_detection.schema import RAW_COLUMNS
from fraud_detection.serving.validation import as_text, problems_of, row_problems

pytestmark = pytest.mark.integration
MAX_ABS = 1e13

_numbers = st.one_of(
    st.none(), st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 1e13, -1e13, 1e14, float("inf"),
                                -float("inf"), 2.0**31, 181.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 30).map(float),
)
_texts = st.one_of(
    st.sampled_from(["", " ", "TRANSFER", " CASH_OUT ", "PAYMENT", "transfer", "C123", "M9",
                     "X" * 50]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=45),
)
_labels = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.0]))
_row = st.fixed_dictionaries({
    name: (_labels if name == "isFraud" else _texts if kind == "string" else _numbers)
    for name, kind in RAW_COLUMNS.items()
})


def _batch_problems(spark, rows: list[dict]) -> list[str]:
    """``parse_transactions`` of the rows written as CSV fields (every column text)."""
    texts = [tuple(None if as_text(row[name]) == "" and kind != "string" else
                   (as_text(row[name]) if kind != "string" else row[name])
                   for name, kind in RAW_COLUMNS.items()) for row in rows]
    raw = spark.createDataFrame(texts, ", ".join(f"{name} string" for name in RAW_COLUMNS))
    parsed = parse_transactions(raw, SCORING, MAX_ABS)
    return [row["problems"] for row in parsed.select("problems").collect()]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=25))
def test_random_rows_get_the_batch_validations_problems(spark, rows):
    assert problems_of(pd.DataFrame(rows), MAX_ABS) == _batch_problems(spark, rows)


def test_hand_made_rows(spark):
    valid = {"step": 1.0, "type": "TRANSFER", "amount": 181.0, "nameOrig": "C1",
             "oldbalanceOrg": 181.0, "newbalanceOrig": 0.0, "nameDest": "C2",
             "oldbalanceDest": 0.0, "newbalanceDest": 0.0, "isFraud": None,
             "isFlaggedFraud": 0.0}
    rows = [valid, {**valid, "amount": -1.0}, {**valid, "type": "REFUND", "step": 0.0},
            {**valid, "amount": None}, {**valid, "amount": 1e14}, {**valid, "nameOrig": "  "},
            {**valid, "step": 1.5}, {**valid, "isFraud": 2.0}]
    expected = ["", "amount: negative", "step: below 1; type: unknown value 'REFUND'",
                "amount: not a number ('')",
                "amount: magnitude above split.max_abs_amount=1e13 ('100000000000000')",
                "nameOrig: empty", "step: not an integer ('1.5')",
                "isFraud: not 0, 1 or empty ('2')"]
    assert [row_problems(row, MAX_ABS) for row in rows] == expected
    assert _batch_problems(spark, rows) == expected
