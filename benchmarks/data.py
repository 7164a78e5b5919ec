"""PaySim-format CSVs made by the project's own generator, cached by row count and seed.

The generator is the ``data_generation`` node with the parameters of
``conf/base/parameters_data_generation.yml`` (only ``n_rows`` changes), and the file is
written exactly as the catalog's ``raw_transactions@pandas`` writes it. Each size lives in
its own folder, because the pipeline reads a folder of ``*.csv`` files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kedro_datasets.pandas import CSVDataset

from benchmarks import REPO
from fraud_detection.pipelines.data_generation.nodes import generate_transactions

PARAMETERS = REPO / "conf" / "base" / "parameters_data_generation.yml"
FILE_NAME = "transactions.csv"


def generation_params(n_rows: int) -> dict[str, Any]:
    """The project's generator parameters with ``n_rows`` replaced."""
    params = yaml.safe_load(PARAMETERS.read_text())["data_generation"]
    return {**params, "n_rows": int(n_rows)}


def cached_csv(cache_dir: Path, n_rows: int) -> tuple[Path, dict[str, Any]]:
    """The folder holding ``transactions.csv`` with ``n_rows`` rows; generated if missing.

    Returns the folder and what happened (cached or generated, seconds, bytes).
    """
    params = generation_params(n_rows)
    folder = cache_dir / "data" / f"paysim_{n_rows}_seed{params['seed']}"
    target = folder / FILE_NAME
    if target.is_file():
        return folder, {"cached": True, "seconds": 0.0, "bytes": target.stat().st_size}
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    frame = generate_transactions(params)
    generated = time.perf_counter() - started
    partial = folder / f".{FILE_NAME}.partial"  # hidden from the pipeline's *.csv glob
    CSVDataset(filepath=str(partial), save_args={"index": False}).save(frame)
    del frame
    partial.replace(target)  # atomic: an interrupted run never leaves a short "cached" file
    return folder, {
        "cached": False,
        "generate_seconds": round(generated, 2),
        "seconds": round(time.perf_counter() - started, 2),
        "bytes": target.stat().st_size,
    }
