"""In a Kedro run the generator's parameters are checked like every other parameter: before
any work, named by their full key and where the value came from."""

from __future__ import annotations

import pytest

from fraud_detection.hooks.parameters import InvalidParameterError, UnknownParameterError
from tests.kedro_project import run_kedro, scratch_project


def test_a_bad_generation_parameter_stops_the_run_before_any_work(tmp_path):
    project = scratch_project(tmp_path / "project")
    with pytest.raises(InvalidParameterError) as raised:
        run_kedro(project, ["data_generation"],
                  params={"data_generation": {"n_rows": 0, "fraud_rate": "0.01"}})
    assert str(raised.value).splitlines()[1:] == [
        ("- data_generation.n_rows = 0 (from --params): Input should be greater than or equal "
         "to 1"),
        "- data_generation.fraud_rate = '0.01' (from --params): Input should be a valid number",
        "Correct each value; conf/base/parameters_*.yml describes every parameter.",
    ]
    (project / "conf/local/parameters_data_generation.yml").write_text(
        "data_generation:\n  type_mix:\n    DEBIT: -1\n")
    with pytest.raises(InvalidParameterError, match=(
            r"- data_generation.type_mix.DEBIT = -1 \(from conf/local\): Input should be "
            r"greater than or equal to 0")):
        run_kedro(project, ["data_generation"])
    (project / "conf/local/parameters_data_generation.yml").unlink()
    with pytest.raises(UnknownParameterError, match=r"data_generation.type_mix.WIRE \(from "
                                                    r"--params;"):
        run_kedro(project, ["data_generation"],
                  params={"data_generation": {"type_mix": {"WIRE": 1.0}}})
    assert not any((project / "data").rglob("*.*")), "nothing may be written"
