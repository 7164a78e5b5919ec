"""The scope rule (fraud_detection.model_scope): tags, parsing and the reason of an unscored row."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraud_detection.model_scope import (
    out_of_scope_reason,
    parse_scope,
    scope_tag,
    unscored_reason,
)
from fraud_detection.schema import TRANSACTION_TYPES

types = st.sampled_from(TRANSACTION_TYPES)
scopes = st.lists(types, min_size=1, max_size=8)
padding = st.sampled_from(["", " ", "  ", "\t"])


@given(scopes, padding)
def test_a_scope_survives_its_tag_and_its_metadata(scope, pad):
    expected = tuple(sorted(set(scope)))
    assert parse_scope(scope_tag(scope)) == expected
    assert parse_scope(scope) == expected  # the logged model's metadata: a list
    assert parse_scope(",".join(f"{pad}{t}{pad}" for t in scope)) == expected  # typed by hand


@given(scopes, st.text(min_size=1).filter(lambda t: t.strip() not in TRANSACTION_TYPES
                                          and "," not in t))
def test_a_value_that_is_no_transaction_type_is_named(scope, bad):
    with pytest.raises(ValueError, match="is not a transaction type") as error:
        parse_scope([*scope, bad])
    assert repr(bad.strip()) in str(error.value)


@given(scopes, types)
def test_a_row_is_scored_exactly_when_its_type_is_in_scope(scope, kind):
    reason = unscored_reason(kind, tuple(scope))
    assert (reason is None) == (kind in scope)
    assert reason in (None, f"out_of_scope: {kind}")


@pytest.mark.parametrize("empty", [None, "", "  "])
def test_nothing_recorded_is_an_unknown_scope_that_scores_every_row(empty):
    assert parse_scope(empty) is None
    assert all(unscored_reason(kind, None) is None for kind in TRANSACTION_TYPES)


@pytest.mark.parametrize("empty", [[], ",", " , "])
def test_a_recorded_scope_without_a_type_is_refused(empty):
    with pytest.raises(ValueError, match="lists no type|'' is not a transaction type"):
        parse_scope(empty)


def test_the_reason_text():
    assert out_of_scope_reason("PAYMENT") == "out_of_scope: PAYMENT"
    assert out_of_scope_reason(None) == "out_of_scope: null"
