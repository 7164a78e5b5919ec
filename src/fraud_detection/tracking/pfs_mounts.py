"""Inside a Pachyderm pipeline worker, a file under ``/pfs`` is a file of a Pachyderm commit.

pachd mounts the current datum of each input ``<name>`` at ``/pfs/<name>/`` and commits what
the worker writes to ``/pfs/out/`` as the job's output commit, in the repo named after the
pipeline. It tells the worker which commits these are through its environment
(pachyderm/pachyderm ``src/server/worker/driver/driver.go``, ``UserCodeEnv``):
``<name>_COMMIT`` is the input commit, ``PACH_OUTPUT_COMMIT_ID`` the output commit, and the
pod has ``PPS_PIPELINE_NAME`` (``src/server/cmd/worker/main.go``).

So in a worker, what a dataset read or wrote is named as Pachyderm names it, a commit ID
(``kedro.input|output.<dataset>`` tags) and ``pfs://<repo>@<commit>:<path>``, exactly as
``kedro run --env pachyderm`` names its commits: ``kedro provenance data <dataset>
<commit>`` then answers for a job's commits too. Outside a worker (no ``PACH_JOB_ID``)
nothing changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath

from fraud_detection.datasets.versioned import VersionRecord

PFS_ROOT_ENV = "FRAUD_DETECTION_PFS_ROOT"
OUTPUT_MOUNT = "out"
PROVENANCE_DIR = ".provenance"  # under /pfs/out: a worker's run record, one file per datum


def pfs_root() -> str:
    """/pfs, or ``$FRAUD_DETECTION_PFS_ROOT`` (a worker contract run under a temp folder)."""
    return os.environ.get(PFS_ROOT_ENV) or "/pfs"


@dataclass(frozen=True)
class PfsFile:
    """A path of one commit: ``repo`` is the input's name (the repo, unless the pipeline
    spec renames its input) or, for ``/pfs/out``, the pipeline (its output repo)."""

    repo: str
    commit: str
    path: str

    @property
    def uri(self) -> str:
        return f"pfs://{self.repo}@{self.commit}:{self.path}"


def pfs_file(location: str) -> PfsFile | None:
    """The commit and path of ``location`` when it lies under a mount of this pachd worker;
    ``None`` outside a worker, outside ``/pfs``, or for a mount pachd named no commit of."""
    if not os.environ.get("PACH_JOB_ID"):
        return None
    root = PurePosixPath(os.path.normpath(pfs_root()))
    try:
        parts = PurePosixPath(os.path.normpath(location.removeprefix("file://"))).relative_to(
            root).parts
    except ValueError:
        return None
    if not parts:
        return None
    mount, inner = parts[0], "/" + "/".join(parts[1:])
    if mount == OUTPUT_MOUNT:
        repo, commit = os.environ.get("PPS_PIPELINE_NAME"), os.environ.get(
            "PACH_OUTPUT_COMMIT_ID")
    else:
        repo, commit = mount, os.environ.get(f"{mount}_COMMIT")
    return PfsFile(repo, commit, inner) if repo and commit else None


def as_commit(record: VersionRecord | None) -> VersionRecord | None:
    """``record`` as the Pachyderm commit its files belong to, when they are under a worker's
    ``/pfs`` (identified by the commit, like ``PachydermDataset``'s: nothing to hash);
    else ``record`` itself."""
    found = pfs_file(record.path) if record is not None and record.path else None
    if found is None:
        return record
    return VersionRecord("pachyderm", found.uri, found.commit, record.path, digest=found.commit)
