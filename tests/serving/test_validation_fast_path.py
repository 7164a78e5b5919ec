"""The vectorized pass of ``problems_of`` never calls a row valid that ``row_problems`` would
not: every request frame gets exactly the texts of ``row_problems`` row by row.

Frames are built the ways a request reaches the model: typed as MLflow's schema casts them
(float64 numbers with NaN for nulls, object texts), and as pandas infers them from Python
values (object columns mixing None, bools, numbers and texts).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_detection.schema import LABEL, RAW_COLUMNS
from fraud_detection.serving.validation import problems_of, row_problems

MAX_ABS = 1e13
VALID = {"step": 1.0, "type": "TRANSFER", "amount": 181.0, "nameOrig": "C1",
         "oldbalanceOrg": 181.0, "newbalanceOrig": 0.0, "nameDest": "C2",
         "oldbalanceDest": 0.0, "newbalanceDest": 0.0, "isFraud": None, "isFlaggedFraud": 0.0}

_edges = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.0, 24.0, 1e13, -1e13, 1e13 + 2.0, 2.0**31,
          2.0**31 - 1, -(2.0**31), -(2.0**31) - 1, float("inf"), -float("inf"), float("nan"),
          5e-324, 1e300]
_floats = st.one_of(st.sampled_from(_edges), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-3, 30).map(float))
_texts = st.one_of(st.sampled_from(["", " ", "  ", "TRANSFER", " CASH_OUT ", "PAYMENT",
                                    "transfer", "CASH_OUT\t", "C1", "M9", "X" * 50]),
                   st.text(max_size=12))
_anything = st.one_of(st.none(), st.booleans(), _floats, st.integers(-5, 2**40), _texts)


def _typed_rows(n: int) -> st.SearchStrategy[pd.DataFrame]:
    """Rows as MLflow's schema leaves them: float64 numbers (NaN for null), object texts."""
    column = {name: st.lists(_texts if kind == "string" else _floats, min_size=n, max_size=n)
              for name, kind in RAW_COLUMNS.items()}
    return st.fixed_dictionaries(column).map(lambda c: pd.DataFrame({
        name: np.array(values, dtype=object if RAW_COLUMNS[name] == "string" else "float64")
        for name, values in c.items()}))


def _mostly_valid(n: int) -> st.SearchStrategy[pd.DataFrame]:
    """Valid rows with one value of one column replaced by anything (any Python type)."""
    return st.tuples(st.sampled_from(list(RAW_COLUMNS)), st.integers(0, n - 1), _anything,
                     st.booleans()).map(lambda t: _with(n, *t))


def _with(n: int, name: str, row: int, value, drop_label: bool) -> pd.DataFrame:
    rows = [dict(VALID) for _ in range(n)]
    rows[row][name] = value
    frame = pd.DataFrame(rows)
    return frame.drop(columns=LABEL) if drop_label and name != LABEL else frame


def _expected(frame: pd.DataFrame) -> list[str]:
    names = [name for name in RAW_COLUMNS if name in frame]
    return [row_problems(dict(zip(names, values)), MAX_ABS)
            for values in zip(*(frame[name].tolist() for name in names))]


@settings(max_examples=300, deadline=None)
@given(frame=st.integers(1, 6).flatmap(_typed_rows))
def test_typed_requests_get_the_row_by_row_texts(frame):
    assert problems_of(frame, MAX_ABS) == _expected(frame)


@settings(max_examples=300, deadline=None)
@given(frame=st.integers(1, 4).flatmap(_mostly_valid))
def test_one_odd_value_of_any_type_gets_the_row_by_row_texts(frame):
    assert problems_of(frame, MAX_ABS) == _expected(frame)


def test_missing_columns_and_valid_requests():
    valid = pd.DataFrame([VALID, {**VALID, "isFraud": 1.0}])
    assert problems_of(valid, MAX_ABS) == ["", ""]
    assert problems_of(valid.drop(columns="isFraud"), MAX_ABS) == ["", ""]
    without = valid.drop(columns=["amount", "nameDest"])
    assert problems_of(without, MAX_ABS) == ["amount: not a number (''); nameDest: empty"] * 2
    assert problems_of(valid.iloc[:0], MAX_ABS) == []
