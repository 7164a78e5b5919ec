"""Project tooling: build steps run from the repository (``make install``), not part of the
product package that ``kedro package`` and ``pip install`` ship."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
