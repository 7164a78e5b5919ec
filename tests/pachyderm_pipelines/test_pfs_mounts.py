"""Files under a pachd worker's /pfs named as the commits pachd gives the worker
(``src/server/worker/driver/driver.go`` ``UserCodeEnv``: ``<input>_COMMIT``,
``PACH_OUTPUT_COMMIT_ID``; the pod's ``PPS_PIPELINE_NAME``)."""

from __future__ import annotations

import os
import uuid
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_detection.datasets.versioned import VersionRecord
from fraud_detection.tracking.pfs_mounts import PfsFile, as_commit, pfs_file

ROOT = "/tmp/pfs-root"
JOB, IN_COMMIT, OUT_COMMIT = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
WORKER = {"PACH_JOB_ID": JOB, "PPS_PIPELINE_NAME": "aggregate", "PACH_OUTPUT_COMMIT_ID": OUT_COMMIT,
          "split": f"{ROOT}/split/shards/shard=1", "split_COMMIT": IN_COMMIT,
          "FRAUD_DETECTION_PFS_ROOT": ROOT}


def _in_worker(**extra: str):
    return mock.patch.dict(os.environ, {**WORKER, **extra})


def test_inputs_and_outputs_are_named_by_their_commits():
    with _in_worker():
        assert pfs_file(f"{ROOT}/split/shards") == PfsFile("split", IN_COMMIT, "/shards")
        assert pfs_file(f"file://{ROOT}/out/model_input_table") == PfsFile(
            "aggregate", OUT_COMMIT, "/model_input_table")
        assert pfs_file(f"{ROOT}/out") == PfsFile("aggregate", OUT_COMMIT, "/")
        record = as_commit(VersionRecord("kedro", "file:///x", None, f"{ROOT}/out/m.json",
                                         files=()))
    assert record == VersionRecord("pachyderm", f"pfs://aggregate@{OUT_COMMIT}:/m.json",
                                   OUT_COMMIT, f"{ROOT}/out/m.json", digest=OUT_COMMIT)


def test_nothing_changes_outside_a_worker_a_mount_or_a_known_commit():
    local = VersionRecord("kedro", "file:///data/x", "v1", "/data/x", files=())
    with _in_worker():
        assert as_commit(local) is local and as_commit(None) is None
        assert pfs_file(f"{ROOT}/scoring/batch.csv") is None  # no scoring_COMMIT: no commit
        assert pfs_file(ROOT) is None and pfs_file(f"{ROOT}/../etc/out/x") is None
    with mock.patch.dict(os.environ, {"FRAUD_DETECTION_PFS_ROOT": ROOT}, clear=True):
        assert pfs_file(f"{ROOT}/out/x") is None  # no PACH_JOB_ID: not a pachd worker


_SEGMENT = st.text(st.characters(categories=("L", "N"), include_characters="-_=."),
                   min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@settings(max_examples=200, deadline=None)
@given(mount=st.sampled_from(["split", "out", "raw", "other"]),
       inner=st.lists(_SEGMENT, max_size=4))
def test_any_path_under_a_mount_keeps_its_path_inside_the_commit(mount, inner):
    with _in_worker(raw_COMMIT=JOB):
        found = pfs_file("/".join([ROOT, mount, *inner]))
    commits = {"split": IN_COMMIT, "out": OUT_COMMIT, "raw": JOB}
    if mount not in commits:
        assert found is None
        return
    assert found.commit == commits[mount] and found.path == "/" + "/".join(inner)
    assert found.repo == ("aggregate" if mount == "out" else mount)
    assert found.uri == f"pfs://{found.repo}@{found.commit}:{found.path}"
