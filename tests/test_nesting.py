"""The nested-dict walkers that parameters, mlflow.yml and metrics share."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fraud_detection.nesting import closest, has_path, key_paths, leaves, value_at

KEYS = st.text("abcdefgh_", min_size=1, max_size=6)
TREES = st.recursive(st.integers() | st.text(max_size=3) | st.none() | st.lists(st.integers()),
                     lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=20)
DICTS = st.dictionaries(KEYS, TREES, max_size=4)


def test_hand_made_tree():
    tree = {"train": {"model": {"max_depth": 8}, "seed": 1}, "empty": {}, "none": None}
    assert list(key_paths(tree)) == ["train", "train.model", "train.model.max_depth",
                                     "train.seed", "empty", "none"]
    assert dict(leaves(tree)) == {"train.model.max_depth": 8, "train.seed": 1, "empty": {},
                                  "none": None}
    assert value_at(tree, ["train", "model"]) == {"max_depth": 8}
    assert value_at(tree, ["train", "nope", "x"]) is None
    assert has_path(tree, ["none"]) and not has_path(tree, ["none", "x"])
    assert closest("max_dept", ["max_depth", "max_bins"]) == "max_depth"
    assert closest("zzz", ["max_depth"]) is None


@given(DICTS)
def test_every_leaf_is_a_key_path_and_found_at_it(tree):
    paths = set(key_paths(tree))
    for path, value in leaves(tree):
        assert path in paths
        assert has_path(tree, path.split(".")) and value_at(tree, path.split(".")) == value


@given(DICTS)
def test_every_key_path_leads_somewhere(tree):
    for path in key_paths(tree):
        assert has_path(tree, path.split("."))
