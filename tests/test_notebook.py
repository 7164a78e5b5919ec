"""The walkthrough notebook runs top to bottom in a real Jupyter kernel of the project's Python.

A copy of the notebook runs with nbclient in a scratch copy of the project (small generated
data), in a kernel started from this interpreter (the ``.venv`` that ``make install``
builds), without the Makefile's environment: the project's Spark hook has to supply
``SPARK_LOCAL_IP`` and ``PYSPARK_PYTHON`` itself. A last cell, added to the copy, reports
what the notebook computed.
"""

from __future__ import annotations

import json
import shutil
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.kedro_project import REPO, scratch_project

pytestmark = pytest.mark.integration

ROWS = 20_000
REPORT = """\
import json, sys
print(json.dumps({
    "python": sys.executable,
    "auprc": metrics["auprc"], "baseline_auprc": metrics["baseline_auprc"],
    "champion_run": champion.run_id,
    "produced_by": [entry["run_id"] for entry in found["produced_by"]],
    "scored": scored.count(),
}))
"""


def _venv_kernel(root) -> str:
    """A kernel spec that starts ``ipykernel`` with this interpreter; its folder goes first
    on ``JUPYTER_PATH``, so no other Python's ``python3`` kernel is picked."""
    spec = root / "kernels" / "project-venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fraud-detection (.venv)", "language": "python",
    }))
    return spec.name


def test_walkthrough_runs_top_to_bottom(tmp_path, monkeypatch):
    project = scratch_project(tmp_path / "walkthrough")
    (project / "conf" / "local" / "spark.yml").write_text(
        "spark.sql.shuffle.partitions: 4\nspark.driver.memory: 1g\nspark.ui.enabled: false\n")
    (project / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "walkthrough.ipynb", project / "notebooks")
    notebook = nbformat.read(project / "notebooks" / "walkthrough.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    kernel = _venv_kernel(tmp_path / "jupyter")
    monkeypatch.setenv("WALKTHROUGH_ROWS", str(ROWS))
    for name in ("SPARK_LOCAL_IP", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):
        monkeypatch.delenv(name, raising=False)

    NotebookClient(notebook, kernel_name=kernel, timeout=900,
                   resources={"metadata": {"path": str(project / "notebooks")}}).execute()

    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    report = json.loads("".join(out["text"] for out in notebook.cells[-1].outputs
                                if out.get("name") == "stdout"))
    assert report["python"] == sys.executable
    assert report["auprc"] > report["baseline_auprc"]
    assert report["produced_by"][0] == report["champion_run"]
    assert report["scored"] == ROWS
    assert list((project / "data" / "01_raw").glob("*.csv"))
