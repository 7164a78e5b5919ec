"""The answer frame writes the records pandas writes: same keys, values and value types, for
any values the answer holds and after any change made to it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_detection.serving.pyfunc import OUTPUT_COLUMNS, Answers

_values = st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-2**70, 2**70),
                    st.text(max_size=8), st.booleans(),
                    st.floats(allow_nan=False).map(np.float64), st.integers(0, 9).map(np.int64))


def _records(frame: pd.DataFrame) -> list[list[tuple[str, type, object]]]:
    """Records with every value's type, NaN made comparable."""
    return [[(key, type(value), "nan" if isinstance(value, float) and math.isnan(value) else value)
             for key, value in record.items()] for record in frame.to_dict(orient="records")]


def _answers(rows: list[list]) -> Answers:
    values = np.empty((len(rows), len(OUTPUT_COLUMNS)), dtype=object)
    for i, row in enumerate(rows):
        values[i, :] = row
    return Answers(values, columns=list(OUTPUT_COLUMNS), copy=False)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(_values, min_size=6, max_size=6), max_size=5))
def test_records_equal_pandas_records(rows):
    answers = _answers(rows)
    assert _records(answers) == _records(pd.DataFrame(answers.copy()))


def test_a_changed_or_derived_frame_still_writes_pandas_records():
    answers = _answers([[0.5, 1, None, "c", 3, "r"], [None, None, "out_of_scope: PAYMENT",
                                                       "c", 3, "r"]])
    plain = pd.DataFrame(answers.copy())
    assert type(plain) is pd.DataFrame and type(answers[["fraud_probability"]]) is pd.DataFrame
    assert answers.to_dict(orient="records")[1]["unscored_reason"] == "out_of_scope: PAYMENT"
    answers["model_version"] = np.arange(2)  # an int64 column now
    plain["model_version"] = np.arange(2)
    assert _records(answers) == _records(plain)
    assert answers.to_dict() == plain.to_dict()  # other orients are pandas'
