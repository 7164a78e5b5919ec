"""The life of one Pachyderm commit, as pachd 2.7 runs it, for ``PachydermDataset``.

pachd moves a branch head to a commit the moment it is started, so every client reading
the branch reads that commit from then on; FinishCommit only marks it *finishing*, and
pachd marks it *finished* (or finished with an error) after compacting and validating it.
So a save here is: start; write everything in one ModifyFile stream (pachd applies a
stream whole or not at all); finish; wait until pachd has finished it. If anything fails
or is interrupted before that, the commit's commit set is dropped, which moves the branch
head back to its parent: the branch is exactly as it was. Only when pachd refuses the drop
(another commit already depends on it) is the commit finished with the error instead, and
the message says so, names the commit and says who can still see it.

A load treats commits as pachd's own reads do: a finishing commit is read once finished
(waiting up to a timeout); an open commit and a commit finished with an error are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from kedro.io.core import DatasetError

from .pachyderm_connection import PachdTarget, cause_text, explain, is_not_found, rpc_error

_LOGGER = logging.getLogger(__name__)
_ERROR_LIMIT = 4000  # characters of a failure kept in the commit's error field


@dataclass(frozen=True)
class Place:
    """Where a dataset lives in PFS; builds commits, locations and error messages."""

    project: str
    repo: str
    branch: str
    path: str
    target: PachdTarget | None = None

    def location(self, ref: str | None = None) -> str:
        return f"{self.project}/{self.repo}@{ref or self.branch}:{self.path}"

    def commit(self, commit_id: str | None = None, branch: str | None = None):
        from python_pachyderm.pfs import Commit

        return Commit(repo=self.repo, branch=branch, id=commit_id, project=self.project)

    def error(self, exc: BaseException, ref: str | None = None) -> DatasetError:
        names = {"project": self.project, "repo": self.repo, "branch": self.branch,
                 "ref": ref or self.branch}
        return explain(exc, self.location(ref), self.target, names)


def ensure_repo(client, place: Place, create: bool) -> bool:
    """Whether the repo had to be created: it exists, or ``create`` allows making it (a
    concurrent creator's ``ALREADY_EXISTS`` is fine); anything else is the place's error."""
    try:
        client.inspect_repo(place.repo, project_name=place.project)
        return False
    except Exception as exc:
        err = rpc_error(exc)
        missing = is_not_found(exc) and err.details().startswith("repo ")
        if not (create and missing):
            raise place.error(exc) from exc
    try:
        client.create_repo(place.repo, description="Created by Kedro PachydermDataset",
                           project_name=place.project)
    except Exception as exc:
        err = rpc_error(exc)
        if err is None or err.code().name != "ALREADY_EXISTS":
            raise place.error(exc) from exc
        return False
    return True


# ------------------------------------------------------------------------ reading
def wait_finished(client, place: Place, commit_id: str, timeout: float):
    """InspectCommit(wait=FINISHED) with a deadline: the CommitInfo once pachd has finished
    the commit. python-pachyderm 7.6's ``inspect_commit`` takes no deadline, so this calls
    the same RPC through the client's own channel (which carries the auth token)."""
    from python_pachyderm.pfs import commit_from
    from python_pachyderm.proto.v2.pfs import pfs_pb2, pfs_pb2_grpc

    stub = pfs_pb2_grpc.APIStub(client._channel)
    request = pfs_pb2.InspectCommitRequest(commit=commit_from(place.commit(commit_id)),
                                           wait=pfs_pb2.CommitState.FINISHED)
    try:
        return stub.InspectCommit(request, timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise DatasetError(
                f"{place.location(commit_id)}: pachd has not finished commit {commit_id} "
                f"within {timeout:g}s (it is still compacting and validating it). Raise "
                "the dataset's `finish_timeout`, or check pachd's health "
                f"(`pachctl inspect commit {place.repo}@{commit_id} --project "
                f"{place.project}`)."
            ) from exc
        raise place.error(exc, commit_id) from exc


def readable(client, place: Place, info, timeout: float):
    """The CommitInfo of ``info``'s commit once it may be read: finished without error."""
    commit_id = info.commit.id
    location = place.location(commit_id)
    if not info.HasField("finishing"):
        raise DatasetError(
            f"{location}: commit {commit_id} is still open (a save or pipeline job is "
            f"writing it). Wait for it (`pachctl wait commit {place.repo}@{commit_id} "
            f"--project {place.project}`) or load a finished commit with "
            "`kedro run --load-versions <dataset>:<commit-id>`."
        )
    if not info.HasField("finished"):
        info = wait_finished(client, place, commit_id, timeout)
    if info.error:
        good = last_good_ancestor(client, place, info)
        hint = f" The last good commit before it is {good}." if good else ""
        raise DatasetError(
            f"{location}: commit {commit_id} finished with an error ({info.error}), so "
            f"its data is incomplete. Save again, or load a good commit with `kedro run "
            f"--load-versions <dataset>:<commit-id>`.{hint}"
        )
    return info


def last_good_ancestor(client, place: Place, info, limit: int = 50) -> str | None:
    for _ in range(limit):
        if not info.HasField("parent_commit"):
            return None
        info = next(iter(client.inspect_commit(place.commit(info.parent_commit.id))))
        if info.HasField("finished") and not info.error:
            return info.commit.id
    return None


# ------------------------------------------------------------------------ writing
def write_commit(client, place: Place, description: str,
                 write: Callable[[Any], None], timeout: float) -> str:
    """Start a commit, ``write(commit)``, finish it and wait until pachd has finished it;
    on any failure or interrupt, leave the branch as it was (see the module docstring)."""
    try:
        commit = client.start_commit(place.repo, place.branch, description=description,
                                     project_name=place.project)
    except Exception as exc:
        raise _start_error(place, exc) from exc
    try:
        write(commit)
        _finish(client, commit)
        info = wait_finished(client, place, commit.id, timeout)
        if info.error:
            raise DatasetError(f"pachd finished commit {commit.id} with an error: {info.error}")
    except BaseException as exc:
        fate = abandon(client, place, commit, exc)
        if not isinstance(exc, Exception):  # Ctrl-C, SystemExit: say what became of it
            _LOGGER.warning("%s: save interrupted. %s", place.location(commit.id), fate)
            raise
        raise DatasetError(
            f"{place.location(commit.id)}: save failed ({_short(exc)}). {fate}"
        ) from exc
    return commit.id


def _finish(client, commit) -> None:
    """FinishCommit; a reply lost on the way back is fine if pachd did finish it."""
    try:
        client.finish_commit(commit)
    except Exception:
        try:
            info = next(iter(client.inspect_commit(commit)))
        except Exception:  # noqa: BLE001 - the finish error is the one to report
            info = None
        if info is None or not info.HasField("finishing") or info.error:
            raise


def abandon(client, place: Place, commit, exc: BaseException) -> str:
    """Drop the failed commit's set; where pachd refuses, finish it with the error. Returns
    a sentence saying truthfully what became of the commit and of the branch."""
    try:
        client.drop_commit(commit.id)
    except Exception as drop_exc:  # noqa: BLE001 - refused or unreachable: fall back
        refusal = cause_text(drop_exc)
    else:
        head = _branch_head(client, place)
        where = f"commit {head}" if head else "its previous state"
        return (f"Commit {commit.id} was dropped, so branch {place.branch!r} is back at "
                f"{where}: no partial data was published.")
    reason = f"Kedro save failed: {_short(exc)}"[:_ERROR_LIMIT]
    try:
        client.finish_commit(commit, error=reason)
        outcome = "so it was finished with the error instead (it stays, marked failed)"
    except Exception as finish_exc:  # noqa: BLE001
        outcome = f"and finishing it with the error failed too ({cause_text(finish_exc)})"
    return (f"pachd refused to drop commit {commit.id} ({refusal}), {outcome}. "
            + _exposure(client, place, commit.id))


def _exposure(client, place: Place, commit_id: str) -> str:
    """Who can still read the failed commit, from pachd's answer now."""
    drop = f"`pachctl drop commit {commit_id}`"
    try:
        info = next(iter(client.inspect_commit(place.commit(commit_id))))
    except Exception:  # noqa: BLE001 - pachd unreachable: say what to check
        return (f"Its state is unknown (pachd did not answer): check it with `pachctl "
                f"inspect commit {place.repo}@{commit_id} --project {place.project}` and "
                f"drop it with {drop} once nothing depends on it.")
    head = _branch_head(client, place)
    if head != commit_id:
        return (f"The head of {place.branch!r} is {head or 'unknown'}, not the failed "
                "commit; other clients read the failed commit only by its ID.")
    state = "open" if not info.HasField("finishing") else "finished with an error"
    return (f"It is still the head of {place.branch!r} ({state}): other clients (pachctl, "
            "Pachyderm pipelines) reading the branch see its incomplete data until the "
            "next save; this project's loads refuse it. Remove it with "
            f"{drop} once the commits that depend on it are gone.")


def _branch_head(client, place: Place) -> str | None:
    try:
        branch = client.inspect_branch(place.repo, place.branch, project_name=place.project)
    except Exception:  # noqa: BLE001 - only for the message
        return None
    return branch.head.id or None


def _start_error(place: Place, exc: Exception) -> DatasetError:
    err = rpc_error(exc)
    if err is not None and "has not been finished" in (err.details() or ""):
        return DatasetError(
            f"{place.location()}: cannot start a commit: the head of {place.branch!r} is a "
            f"commit that was never finished ({err.details()}). A save or pipeline job "
            "may still be writing it; if nothing is, it was left by a killed process: "
            "drop it with `pachctl drop commit <commit-id>` and save again."
        )
    return place.error(exc)


def _short(exc: BaseException) -> str:
    if isinstance(exc, DatasetError):
        return str(exc)
    return cause_text(exc)
