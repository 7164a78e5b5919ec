"""The catalog names every layer agrees on: transcodings share one name; parameters are not data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fraud_detection.naming import base_name, is_parameters

NAMES = st.text(st.characters(blacklist_characters="@", blacklist_categories=("Cs",)), min_size=1)


def test_a_transcoded_name_and_its_base_are_one_dataset():
    assert base_name("raw_transactions@spark") == "raw_transactions"
    assert base_name("raw_transactions") == "raw_transactions"
    assert base_name("a@b@c") == "a"


@given(NAMES, st.text())
def test_base_name_drops_everything_from_the_first_at(name, transcoding):
    assert base_name(f"{name}@{transcoding}") == name
    assert base_name(name) == name


def test_parameters_are_recognised_by_kedro_spelling_only():
    assert is_parameters("parameters")
    assert is_parameters("params:train.seed")
    assert not is_parameters("parameters_train")
    assert not is_parameters("model_params")
    assert not is_parameters("raw_transactions@spark")
