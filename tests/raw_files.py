"""Hand-made raw PaySim CSV files for tests."""

from __future__ import annotations

from pathlib import Path

from fraud_detection.schema import EXPECTED_HEADER

# Two valid lines in the Kaggle file's exact format.
VALID_LINES = [
    "1,PAYMENT,9839.64,C1231006815,170136.0,160296.36,M1979787155,0.0,0.0,0,0",
    "1,TRANSFER,181.0,C1305486145,181.0,0.0,C553264065,0.0,0.0,1,0",
]


def write_csv(folder: Path, lines: list[str], header: str = EXPECTED_HEADER,
              name: str = "transactions.csv") -> Path:
    """Write ``header`` and ``lines`` as ``folder/name`` and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join([header, *lines]) + "\n")
    return folder
