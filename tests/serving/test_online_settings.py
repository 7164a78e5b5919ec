"""What a training run hands the online flavor, and what the exported tree refuses."""

from __future__ import annotations

import pytest

from fraud_detection.serving.tree import ExportedTree
from fraud_detection.tracking.online_flavor import OnlineSettings, online_settings_of


def test_the_runs_feature_and_validation_parameters_reach_the_online_flavor():
    params = {"aggregate": {"balance_tolerance": 0.01}, "split": {"max_abs_amount": 1e9},
              "train": {"transaction_types": ["TRANSFER"]}}
    assert online_settings_of(params, ["TRANSFER"]) == OnlineSettings(0.01, 1e9, ("TRANSFER",))
    # split.max_abs_amount left out: validation's default, as the split pipeline uses it
    assert online_settings_of({"aggregate": {"balance_tolerance": 0.0}}).max_abs_amount == 1e13


def test_a_run_without_feature_parameters_logs_no_online_flavor_and_says_so(caplog):
    assert online_settings_of({"train": {}}) is None
    assert "without its JVM-free python_function flavor" in caplog.text


def test_an_export_of_another_format_is_refused_naming_the_fix():
    with pytest.raises(ValueError, match="format 'other/1' .* log the model again"):
        ExportedTree({"format": "other/1"})
