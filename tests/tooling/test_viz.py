"""Kedro-Viz draws this project offline: the static site holds every pipeline and a side
panel for every dataset, the transcoded dataset no node writes included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_static_viz_site_holds_every_pipeline_and_dataset(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
    done = subprocess.run([sys.executable, "-m", "tooling.viz", "build", "--out", str(site)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (site / "index.html").is_file()
    main = json.loads((site / "api" / "main").read_text())
    pipelines = {pipeline["id"] for pipeline in main["pipelines"]}
    assert {"__default__", "split", "aggregate", "train", "score", "data_generation"} <= pipelines
    nodes = {node["id"]: node["name"] for pipeline in pipelines for node in json.loads(
        (site / "api" / "pipelines" / pipeline).read_text())["nodes"]}
    assert {"validate_transactions", "build_model_input_table", "fit_model", "evaluate_model",
            "generate_transactions", "raw_transactions", "model_input_table", "fraud_model",
            "scoring_transactions"} <= set(nodes.values())
    panels = {path.name for path in (site / "api" / "nodes").iterdir()}
    assert set(nodes) <= panels
    scoring = next(key for key, name in nodes.items() if name == "scoring_transactions")
    panel = json.loads((site / "api" / "nodes" / scoring).read_text())
    assert panel["filepath"].endswith("data/01_raw")
