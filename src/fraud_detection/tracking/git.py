"""The code version of a run: git commit and whether the work tree had local changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(project_path: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=project_path, capture_output=True, text=True, timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(project_path: Path) -> dict[str, str]:
    """``{"commit": sha or "unknown", "dirty": "true"/"false"/"unknown"}``."""
    commit = _git(project_path, "rev-parse", "HEAD")
    if commit is None:  # e.g. a packaged wheel on a cluster: no repository
        return {"commit": "unknown", "dirty": "unknown"}
    status = _git(project_path, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": "unknown" if status is None else str(bool(status)).lower()}
