"""One in-memory record of a Kedro run, shared by the hooks.

``settings.py`` makes one :class:`RunRecords` and gives it to every hook that needs the
run's facts. At ``before_pipeline_run`` each of them asks it for the run's
:class:`RunRecord`: the first ask makes it (git information is read there, once per run),
the others get the same object. Hooks write what they learn into it (the provenance hook
the versions read and written, the MLflow hook its run ID) and read what the others wrote,
instead of reading each other's MLflow tags back. A version whose content digest is still
being computed is handed over as a future: whoever needs it waits for it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fraud_detection.tracking.git import git_info
from fraud_detection.tracking.versions import DatasetVersion, LocatedVersion, with_digest

ROLES = ("input", "output")


@dataclass
class RunRecord:
    """What one run is: its IDs, environment, pipelines, git, and the data versions."""

    kedro_run_id: str
    env: str
    pipelines: list[str]
    git: dict[str, Any]
    mlflow_run_id: str | None = None
    # (role, base name) -> the version, or (where it lives, its digest being computed)
    _versions: dict[tuple[str, str], DatasetVersion | tuple[LocatedVersion, Future]] = field(
        default_factory=dict, repr=False)

    def note_version(self, role: str, name: str, version: DatasetVersion | LocatedVersion,
                     digest: Future | None = None) -> None:
        """``name`` (a base name) was read as a run input or written as an output."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        pending = isinstance(version, LocatedVersion)
        self._versions[(role, name)] = (version, digest) if pending else version

    def versions(self, role: str) -> dict[str, DatasetVersion]:
        """The versions of ``role`` by base name, waiting for digests still computed."""
        return {name: _resolved(value) for (kind, name), value in list(self._versions.items())
                if kind == role}

    def data_version_tags(self, only: Collection[str] | None = None) -> dict[str, str]:
        """``data.<dataset>`` = version (Kedro version, commit, registry version or content
        digest) for every input and output, or for the base names in ``only``; a registered
        model version's tags name its data this way."""
        tags = {}
        for role in ROLES:
            for name, version in self.versions(role).items():
                if only is None or name in only:
                    tags[f"data.{name}"] = version.version or version.digest or ""
        return tags

    def as_dict(self) -> dict[str, Any]:
        """The run's facts a provenance record holds."""
        return {"kedro_run_id": self.kedro_run_id, "env": self.env,
                "pipelines": self.pipelines, "git": self.git, "mlflow_run_id": self.mlflow_run_id}


def _resolved(value: DatasetVersion | tuple[LocatedVersion, Future]) -> DatasetVersion:
    if isinstance(value, DatasetVersion):
        return value
    located, digest = value
    return with_digest(located, digest.result() if digest is not None else None)


class RunRecords:
    """Hands every hook of a run the same :class:`RunRecord`.

    Kedro gives all ``before_pipeline_run`` implementations of one run the same
    ``run_params`` object, and a new one to the next run (a notebook runs several in one
    process): that object identifies the run, even when a session's runs share an ID.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._params: dict[str, Any] | None = None
        self._current: RunRecord | None = None

    def open(self, run_params: dict[str, Any], project_path: Path, env: str) -> RunRecord:
        """The record of the run ``run_params`` starts, made by the first hook to ask."""
        with self._lock:
            if self._current is None or self._params is not run_params:
                self._params = run_params
                self._current = RunRecord(
                    kedro_run_id=str(run_params.get("run_id") or run_params.get("session_id")),
                    env=env,
                    pipelines=list(run_params.get("pipeline_names") or ["__default__"]),
                    git=git_info(project_path),
                )
            return self._current

    @property
    def current(self) -> RunRecord | None:
        """The record of the run started last, if any."""
        return self._current
