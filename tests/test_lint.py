"""The code passes Ruff's checks (``pyproject.toml`` pins the version and the rules)."""

from __future__ import annotations

import subprocess
import sys

from tests.kedro_project import REPO


def test_ruff_finds_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "benchmarks",
         "tooling"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
