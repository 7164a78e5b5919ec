"""``kedro ipython`` opens the project's IPython, whatever ``PATH`` holds.

Kedro's own command runs the first ``ipython`` on ``PATH``: with ``.venv`` not activated,
another Python's (without Kedro: ``catalog`` never defined) or none at all. The project's
command (``fraud_detection.run_command.ipython``) starts the running Python's IPython.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kedro_project import REPO, scratch_project

pytestmark = pytest.mark.integration


def test_kedro_ipython_defines_the_project_variables_without_an_activated_venv(tmp_path):
    project = scratch_project(tmp_path / "project")
    shutil.copy(REPO / ".telemetry", project / ".telemetry")
    env = {**os.environ, "PATH": "/usr/bin:/bin", "COLUMNS": "300"}
    kedro = str(Path(sys.executable).parent / "kedro")
    done = subprocess.run(
        [kedro, "ipython", "--no-banner", "--colors=nocolor"], cwd=project, env=env,
        input="import sys; print('PYTHON', sys.executable)\n"
              "print('CATALOG', 'raw_transactions@spark' in catalog.keys(), sorted(pipelines))\n"
              "exit()\n",
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"PYTHON {sys.executable}" in done.stdout, done.stdout[-3000:]
    assert "CATALOG True ['__default__', " in done.stdout, done.stdout[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
