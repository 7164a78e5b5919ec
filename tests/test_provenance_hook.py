"""The provenance hook on small pandas-free runs through Kedro's own runner and datasets:
lineage per output, the run's inputs and outputs apart, and a run stopped by Ctrl-C.

Kedro calls ``before_pipeline_run`` from its session, not its runner, so these tests call it
as the session does; every dataset and node hook comes from ``SequentialRunner`` itself.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog
from kedro.io.core import Version
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from fraud_detection.hooks.provenance import ProvenanceHook
from fraud_detection.naming import RECORD

HOOK = ProvenanceHook()  # one for the process, as settings.HOOKS holds it


def clean(raw: dict, params: dict) -> dict:
    return {"rows": raw["rows"] * params["factor"]}


def report(cleaned: dict) -> dict:
    return {"count": cleaned["rows"]}


def summary(saved_report: dict, cleaned: dict) -> dict:
    return {"ok": saved_report["count"] == cleaned["rows"]}


def stopped(saved_report: dict, cleaned: dict) -> dict:
    raise KeyboardInterrupt  # what Python raises on Ctrl-C


def _run(tmp_path: Path, version: str, last=summary) -> tuple[ProvenanceHook, DataCatalog]:
    """One run: raw (stored) -> cleaned (memory) -> report (stored) -> summary (stored)."""
    raw = tmp_path / "raw.json"
    if not raw.exists():
        raw.write_text('{"rows": 3}')
    catalog = DataCatalog({
        "raw": JSONDataset(filepath=str(raw)),
        "report": JSONDataset(filepath=str(tmp_path / "report.json"),
                              version=Version(None, version)),
        "summary": JSONDataset(filepath=str(tmp_path / "summary.json"),
                               version=Version(None, version)),
    })
    catalog["params:p"] = {"factor": 2}
    pipeline = Pipeline([
        Node(clean, ["raw", "params:p"], "cleaned", name="clean"),
        Node(report, "cleaned", "report", name="report"),
        Node(last, ["report", "cleaned"], "summary", name="summary"),
    ])
    hook, manager = HOOK, _create_hook_manager()
    manager.register(hook)
    hook.after_catalog_created(catalog)
    hook.before_pipeline_run({"run_id": version}, pipeline)
    try:
        SequentialRunner().run(pipeline, catalog, manager)
    except Exception as error:
        hook.on_pipeline_error(error)
        raise
    hook.after_pipeline_run()
    return hook, catalog


def _record(tmp_path: Path, dataset: str, version: str) -> dict:
    return json.loads((tmp_path / dataset / version / RECORD).read_text())


def test_each_output_names_its_stored_inputs_and_the_run_keeps_inputs_apart(tmp_path):
    hook, _ = _run(tmp_path, "v1")
    assert set(hook.inputs) == {"raw"}  # report is read back, but this run wrote it
    assert set(hook.outputs) == {"report", "summary"}
    first = _record(tmp_path, "report.json", "v1")
    assert (first["status"], first["node"], first["derived_through"]) == (
        "FINISHED", "report", ["clean"])
    assert set(first["inputs"]) == {"raw"} and first["inputs"]["raw"]["digest"]
    assert first["parameters"] == {"params:p": {"factor": 2}}
    second = _record(tmp_path, "summary.json", "v1")
    assert set(second["inputs"]) == {"raw", "report"}
    assert second["inputs"]["report"]["version"] == "v1"


def test_a_run_stopped_by_ctrl_c_writes_killed_records_when_the_next_run_starts(tmp_path):
    with pytest.raises(KeyboardInterrupt):  # no Kedro hook is called for it
        _run(tmp_path, "v1", last=stopped)
    assert not (tmp_path / "report.json/v1" / RECORD).exists()
    _run(tmp_path, "v2")
    killed = _record(tmp_path, "report.json", "v1")
    assert (killed["status"], killed["kedro_run_id"]) == ("KILLED", "v1")
    assert set(killed["inputs"]) == {"raw"}
    assert not (tmp_path / "summary.json/v1").exists()
    assert _record(tmp_path, "report.json", "v2")["status"] == "FINISHED"


def test_a_killed_record_that_cannot_be_written_is_logged_and_the_next_run_goes_on(
    tmp_path, caplog
):
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, "v1", last=stopped)
    (tmp_path / "report.json/v1" / RECORD).mkdir()  # a folder where the record goes
    with caplog.at_level(logging.ERROR):
        _run(tmp_path, "v2")
    assert "could not write the provenance records of the run stopped with Ctrl-C" in (
        caplog.text)
    assert "no provenance.json" in caplog.text
    assert _record(tmp_path, "report.json", "v2")["status"] == "FINISHED"
