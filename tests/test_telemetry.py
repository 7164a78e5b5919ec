"""A ``kedro`` command run directly, without the Makefile's environment, stays offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.kedro_project import REPO, scratch_project


def test_kedro_leaves_pyproject_as_it_is(tmp_path):
    project = scratch_project(tmp_path / "project")
    shutil.copy(REPO / ".telemetry", project / ".telemetry")
    env = {k: v for k, v in os.environ.items()
           if k not in ("KEDRO_DISABLE_TELEMETRY", "DO_NOT_TRACK")}
    kedro = Path(sys.executable).parent / "kedro"
    done = subprocess.run([str(kedro), "--help"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "provenance" in done.stdout  # the project's own commands were loaded
    assert (project / "pyproject.toml").read_text() == (REPO / "pyproject.toml").read_text()
