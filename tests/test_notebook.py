"""The walkthrough notebook runs top to bottom (its code cells, in order, in one namespace)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.kedro_project import REPO, scratch_project

pytestmark = pytest.mark.integration


def test_walkthrough_runs_top_to_bottom(spark, tmp_path, monkeypatch):
    project = scratch_project(tmp_path / "walkthrough")
    notebook = project / "notebooks" / "walkthrough.ipynb"
    notebook.parent.mkdir()
    shutil.copy(REPO / "notebooks" / "walkthrough.ipynb", notebook)
    monkeypatch.chdir(notebook.parent)
    monkeypatch.setenv("WALKTHROUGH_ROWS", "20000")

    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict = {}
    for number, cell in enumerate(cells, 1):
        code = compile("".join(cell["source"]), f"walkthrough cell {number}", "exec")
        exec(code, namespace)  # noqa: S102 - running the notebook's own cells is the test

    assert namespace["metrics"]["auprc"] > namespace["metrics"]["baseline_auprc"]
    assert namespace["found"]["produced_by"][0]["run_id"] == namespace["champion"].run_id
    assert namespace["scored"].count() == 20_000
