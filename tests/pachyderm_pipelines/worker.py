"""A Pachyderm job run as pachd's worker runs it, against the test pachd, without Kubernetes.

For one pipeline (a spec from ``kedro pachyderm pipelines``) and the open output commit
that a commit to its input opened (same global ID: the job ID), this does what pachd's
worker does (pachyderm/pachyderm at v2.7):

- datums: the input commit's files matched by the input's glob, one datum per match
  (``src/server/worker/datum/iterator.go``, via PFS ``GlobFile``);
- per datum, an empty scratch root with the datum's files at ``/pfs/<input name>/<path>``
  and an empty ``/pfs/out`` (``src/server/worker/driver/driver.go``: ``WithActiveData``,
  ``InputDir``; ``src/server/worker/common/common.go``: ``PFSPrefix``, ``OutputPrefix``);
- ``transform.cmd`` as a process, not through a shell, in ``transform.workingDir``, with
  the worker's environment (``driver.go``: ``UserCodeEnv``): ``<input>`` = the datum's
  path, ``<input>_COMMIT``, ``PACH_DATUM_ID`` (``common.go``: ``DatumID``, SHA-256 of input
  name, repo, branch and path), ``PACH_JOB_ID``, ``PACH_OUTPUT_COMMIT_ID``, plus the
  pod's ``PPS_PIPELINE_NAME`` (``src/server/cmd/worker/main.go``) and ``transform.env``;
- a datum that exits non-zero fails the job (after ``datumTries``: one try here); each
  datum's ``/pfs/out`` is merged into the output commit; two datums writing one path fail
  the job, as pachd's merge refuses it (docs: "two datums wrote to the same output file");
- the output commit is finished, and the job's commit waits until pachd finished it.

``/pfs`` is a temporary folder: the worker env resolves it from ``FRAUD_DETECTION_PFS_ROOT``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_pachyderm.pfs import Commit
from python_pachyderm.proto.v2.pfs import pfs_pb2

PFS_ROOT_ENV = "FRAUD_DETECTION_PFS_ROOT"


def _commit(repo: str, commit_id: str, project: str) -> Commit:
    return Commit(repo=repo, id=commit_id, project=project)


@dataclass
class JobResult:
    job_id: str
    datums: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)


def datum_id(name: str, repo: str, branch: str, path: str) -> str:
    """common.go DatumID for one input: sha256 over each field and its big-endian length."""
    sha = hashlib.sha256()
    for text in (name, repo, branch, path):
        sha.update(text.encode())
        sha.update(struct.pack(">q", len(text.encode())))
    return sha.hexdigest()


def _materialise(client, repo: str, commit_id: str, datum_path: str, target: Path,
                 project: str) -> None:
    """The datum's files (a file, or a directory and everything under it) under target."""
    for info in client.walk_file(_commit(repo, commit_id, project), datum_path):
        if info.file_type != pfs_pb2.FileType.FILE:
            continue
        path = info.file.path
        destination = target / path.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = client.get_file(_commit(repo, commit_id, project), path).read()
        except StopIteration:  # python-pachyderm 7.6 on an empty file
            data = b""
        destination.write_bytes(data)


def _collect(out: Path) -> dict[str, bytes]:
    return {"/" + p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


def run_job(client, spec: dict[str, Any], job_id: str, scratch: Path, *,
            extra_env: dict[str, str] | None = None) -> JobResult:
    """Run the job ``job_id`` of the pipeline ``spec`` and finish its output commit."""
    pipeline = spec["pipeline"]["name"]
    project = spec["pipeline"]["project"]["name"]
    pfs = spec["input"]["pfs"]
    name, repo, branch = pfs["name"], pfs["repo"], pfs.get("branch", "master")
    matches = [info.file.path for info in
               client.glob_file(_commit(repo, job_id, project), pfs["glob"])]
    result = JobResult(job_id, [])
    merged: dict[str, bytes] = {}
    for n, path in enumerate(matches):
        root = scratch / f"{pipeline}-{n}"
        shutil.rmtree(root, ignore_errors=True)
        (root / "out").mkdir(parents=True)
        _materialise(client, repo, job_id, path, root / name, project)
        datum = datum_id(name, repo, branch, path)
        env = {**os.environ, **spec["transform"].get("env", {}), **(extra_env or {}),
               PFS_ROOT_ENV: str(root), name: str(root / name / path.lstrip("/")),
               f"{name}_COMMIT": job_id, "PACH_DATUM_ID": datum, "PACH_JOB_ID": job_id,
               "PACH_OUTPUT_COMMIT_ID": job_id, "PPS_PIPELINE_NAME": pipeline,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        log = scratch / f"{pipeline}-{n}.log"
        with log.open("w") as handle:
            code = subprocess.run(spec["transform"]["cmd"], cwd=spec["transform"]["workingDir"],
                                  env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  check=False).returncode
        result.logs.append(log.read_text())
        if code != 0:
            raise AssertionError(f"datum {path} of job {pipeline}@{job_id} failed ({code}):\n"
                                 + result.logs[-1][-4000:])
        for out_path, data in _collect(root / "out").items():
            if out_path in merged:
                raise AssertionError(f"two datums of {pipeline}@{job_id} wrote {out_path}")
            merged[out_path] = data
        result.datums.append(datum)
    output = _commit(pipeline, job_id, project)
    with client.modify_file_client(output) as writer:
        # The output commit holds exactly this job's datum outputs: pachd builds it from the
        # datums' output file sets and drops the parent job's outputs of datums that changed
        # or went away (src/server/worker/pipeline/transform/pending_job.go: the serial
        # datums' OutputDeleteFileSetId). Every datum ran here, so what the
        # commit inherited from its parent goes, and the merged outputs are the new content.
        writer.delete_file("/")
        for out_path, data in merged.items():
            writer.put_file_from_bytes(out_path, data)
    client.finish_commit(output)
    client.wait_commit(_commit(pipeline, job_id, project))
    result.files = merged
    return result
