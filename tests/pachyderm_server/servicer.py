"""The pfs_v2 gRPC servicer: protobuf in, ``Pfs`` calls, protobuf (or a status) out.

It subclasses the servicer base class that ships with python-pachyderm 7.6, so every
RPC it does not implement answers UNIMPLEMENTED, exactly as the generated code does.
Fault injection and call recording live on the owning ``PachdServer`` (``server.py``).
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import TYPE_CHECKING

import grpc
from google.protobuf import empty_pb2, timestamp_pb2
from python_pachyderm.proto.v2.pfs import pfs_pb2, pfs_pb2_grpc

from .state import (
    DEFAULT_PROJECT,
    UNKNOWN,
    Commit,
    Entry,
    PfsError,
    Repo,
    _base_files,
    clean_path,
)

if TYPE_CHECKING:
    from .server import PachdServer

# InspectCommit's wait states -> the Commit field that must be set (driver.go inspectCommit)
_WAIT_FIELD = {pfs_pb2.CommitState.FINISHING: "finishing",
               pfs_pb2.CommitState.FINISHED: "finished"}
# driver_file.go ValidateFilename: globbing characters are refused in written paths
_GLOB_CHARS = re.compile(r"[*?[\]{}!()@+^]")


def rpc(method):
    """Record the call, apply connection/auth faults and map ``PfsError`` to a status."""
    name = method.__name__
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def streaming(self, request, context):
            self.server.before_call(name, context)
            try:
                yield from method(self, request, context)
            except PfsError as err:
                context.abort(err.code, err.message)

        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        self.server.before_call(name, context)
        try:
            reply = method(self, request, context)
        except PfsError as err:
            context.abort(err.code, err.message)
        self.server.after_call(name)
        return reply

    return unary


# ------------------------------------------------------------------ conversions
def _ts(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def repo_pb(project: str, name: str) -> pfs_pb2.Repo:
    return pfs_pb2.Repo(name=name, type="user", project=pfs_pb2.Project(name=project))


def commit_pb(commit: Commit) -> pfs_pb2.Commit:
    repo = repo_pb(commit.project, commit.repo)
    return pfs_pb2.Commit(
        repo=repo, id=commit.id, branch=pfs_pb2.Branch(repo=repo, name=commit.branch or "")
    )


def commit_info(commit: Commit) -> pfs_pb2.CommitInfo:
    return pfs_pb2.CommitInfo(
        commit=commit_pb(commit),
        origin=pfs_pb2.CommitOrigin(kind=commit.origin),
        description=commit.description,
        parent_commit=commit_pb(commit.parent) if commit.parent else None,
        child_commits=[commit_pb(c) for c in commit.children],
        started=_ts(commit.started),
        finishing=_ts(commit.finishing),
        finished=_ts(commit.finished),
        direct_provenance=[commit_pb(c) for c in commit.direct_provenance],
        error=commit.error,
        size_bytes_upper_bound=commit.size,
        details=pfs_pb2.CommitInfo.Details(size_bytes=commit.size),
    )


def file_info(commit: Commit, entry: Entry) -> pfs_pb2.FileInfo:
    return pfs_pb2.FileInfo(
        file=pfs_pb2.File(commit=commit_pb(commit), path=entry.path),
        file_type=pfs_pb2.FileType.DIR if entry.is_dir else pfs_pb2.FileType.FILE,
        committed=_ts(commit.finishing),  # source.go Iterate: Committed = Finishing
        size_bytes=entry.size,
        hash=entry.hash,
    )


def _paginate(entries: list[Entry], request) -> list[Entry]:
    marker = request.paginationMarker.path if request.HasField("paginationMarker") else ""
    if marker:
        entries = [e for e in entries if e.path > marker]
    if request.reverse:
        entries = entries[::-1]
    return entries[: request.number] if request.number else entries


class PfsServicer(pfs_pb2_grpc.APIServicer):
    """pachd 2.7's PFS API over an in-memory ``Pfs``."""

    def __init__(self, server: PachdServer):
        self.server = server
        self.pfs = server.pfs

    # ---------------------------------------------------------------- helpers
    def _repo(self, repo: pfs_pb2.Repo) -> Repo:
        project = repo.project.name or DEFAULT_PROJECT
        if repo.type not in ("", "user"):
            raise PfsError(grpc.StatusCode.NOT_FOUND,
                           f"repo {project}/{repo.name}.{repo.type} not found")
        return self.pfs.repo(project, repo.name)

    def _resolve(self, commit: pfs_pb2.Commit) -> Commit:
        repo = commit.repo if commit.repo.name else commit.branch.repo
        self._repo(repo)
        return self.pfs.resolve(repo.project.name, repo.name, commit.branch.name, commit.id)

    def _open_for_read(self, commit_msg: pfs_pb2.Commit, context) -> Commit:
        """driver_file.go openCommit: a *finishing* commit is read once it is finished;
        an open commit is read as it is now, an errored one like any other."""
        commit = self._resolve(commit_msg)
        if commit.finishing is not None and commit.finished is None:
            self.pfs.wait([commit], context.is_active)
        return commit

    # ------------------------------------------------------------ projects
    @rpc
    def CreateProject(self, request, context):
        self.pfs.create_project(request.project.name, request.description, request.update)
        return empty_pb2.Empty()

    @rpc
    def InspectProject(self, request, context):
        project = self.pfs.project(request.project.name)
        return pfs_pb2.ProjectInfo(project=pfs_pb2.Project(name=project.name),
                                   description=project.description,
                                   created_at=_ts(project.created))

    @rpc
    def ListProject(self, request, context):
        for project in list(self.pfs.projects.values()):
            yield pfs_pb2.ProjectInfo(project=pfs_pb2.Project(name=project.name),
                                      description=project.description,
                                      created_at=_ts(project.created))

    @rpc
    def DeleteProject(self, request, context):
        self.pfs.delete_project(request.project.name, request.force)
        return empty_pb2.Empty()

    # --------------------------------------------------------------- repos
    @rpc
    def CreateRepo(self, request, context):
        self.pfs.create_repo(request.repo.project.name, request.repo.name,
                             request.description, request.update)
        return empty_pb2.Empty()

    def _repo_info(self, repo: Repo) -> pfs_pb2.RepoInfo:
        with self.pfs.lock:
            branches = sorted(repo.branches.values(), key=lambda b: b.seq, reverse=True)
            master = repo.branches.get("master")
            size = master.head.size if master and master.head else 0
            return pfs_pb2.RepoInfo(
                repo=repo_pb(repo.project, repo.name),
                created=_ts(repo.created),
                description=repo.description,
                size_bytes_upper_bound=size,
                branches=[pfs_pb2.Branch(repo=repo_pb(repo.project, repo.name), name=b.name)
                          for b in branches],
                details=pfs_pb2.RepoInfo.Details(size_bytes=size),
            )

    @rpc
    def InspectRepo(self, request, context):
        return self._repo_info(self._repo(request.repo))

    @rpc
    def ListRepo(self, request, context):
        if request.type not in ("", "user"):
            return
        for repo in self.pfs.list_repos([p.name for p in request.projects]):
            yield self._repo_info(repo)

    @rpc
    def DeleteRepo(self, request, context):
        self.pfs.delete_repo(request.repo.project.name, request.repo.name, request.force)
        return empty_pb2.Empty()

    @rpc
    def DeleteAll(self, request, context):
        self.pfs.reset()
        return empty_pb2.Empty()

    # ------------------------------------------------------------- commits
    @rpc
    def StartCommit(self, request, context):
        repo = self._repo(request.branch.repo)
        parent = None
        if request.HasField("parent") and (request.parent.id or request.parent.branch.name):
            parent = self._resolve(request.parent)
        commit = self.pfs.start_commit(repo, request.branch.name, parent, request.description)
        return commit_pb(commit)

    @rpc
    def FinishCommit(self, request, context):
        commit = self._resolve(request.commit)
        self.pfs.finish_commit(commit, request.description, request.error)
        return empty_pb2.Empty()

    @rpc
    def InspectCommit(self, request, context):
        commit = self._resolve(request.commit)
        if request.wait == pfs_pb2.CommitState.READY:  # its direct provenance is finished
            self.pfs.wait(commit.direct_provenance, context.is_active)
        elif request.wait in _WAIT_FIELD:
            self.pfs.wait([commit], context.is_active, _WAIT_FIELD[request.wait])
        return commit_info(commit)

    @rpc
    def InspectCommitSet(self, request, context):
        commits = self.pfs.commit_set(request.commit_set.id)
        if request.wait:  # commit_set.go inspectCommitSet: wait for each unfinished one
            self.pfs.wait(commits, context.is_active)
        for commit in commits:
            yield commit_info(commit)

    @rpc
    def ListCommitSet(self, request, context):
        for commits in self.pfs.list_commit_sets(request.project.name):
            yield pfs_pb2.CommitSetInfo(commit_set=pfs_pb2.CommitSet(id=commits[0].id),
                                        commits=[commit_info(c) for c in commits])

    @rpc
    def ListCommit(self, request, context):
        repo = self._repo(request.repo)
        stop = self._resolve(getattr(request, "from")) if request.HasField("from") else None
        if request.HasField("to"):
            commits, commit = [], self._resolve(request.to)
            while commit is not None and commit is not stop:
                commits.append(commit)
                commit = commit.parent
        else:
            commits = self.pfs.list_commits(repo)
            if stop is not None:
                commits = commits[: commits.index(stop)] if stop in commits else commits
        if request.origin_kind:
            commits = [c for c in commits if c.origin == request.origin_kind]
        if request.HasField("started_time"):
            limit = request.started_time.ToNanoseconds() / 1e9
            commits = [c for c in commits if c.started <= limit]
        if request.number:
            commits = commits[: request.number]
        for commit in reversed(commits) if request.reverse else commits:
            yield commit_info(commit)

    @rpc
    def SquashCommitSet(self, request, context):
        self.pfs.squash_commit_set(request.commit_set.id)
        return empty_pb2.Empty()

    @rpc
    def DropCommitSet(self, request, context):
        self.pfs.drop_commit_set(request.commit_set.id)
        return empty_pb2.Empty()

    # ------------------------------------------------------------ branches
    @rpc
    def CreateBranch(self, request, context):
        repo = self._repo(request.branch.repo)
        head = None
        if request.HasField("head") and (request.head.id or request.head.branch.name):
            head = self._resolve(request.head)
        provenance = [(b.repo.project.name or DEFAULT_PROJECT, b.repo.name, b.name)
                      for b in request.provenance]
        self.pfs.create_branch(repo, request.branch.name, head, provenance,
                               request.new_commit_set)
        return empty_pb2.Empty()

    def _branch_info(self, repo: Repo, name: str) -> pfs_pb2.BranchInfo:
        branch = self.pfs.branch(repo, name)

        def to_pb(p):
            return pfs_pb2.Branch(repo=repo_pb(p[0], p[1]), name=p[2])

        subvenance = [(r.project, r.name, b.name) for r, b in self.pfs._downstream(repo, name)]
        return pfs_pb2.BranchInfo(
            branch=pfs_pb2.Branch(repo=repo_pb(repo.project, repo.name), name=name),
            head=commit_pb(branch.head) if branch.head else None,
            provenance=[to_pb(p) for p in branch.provenance],
            direct_provenance=[to_pb(p) for p in branch.provenance],
            subvenance=[to_pb(s) for s in subvenance],
        )

    @rpc
    def InspectBranch(self, request, context):
        repo = self._repo(request.branch.repo)
        with self.pfs.lock:
            return self._branch_info(repo, request.branch.name)

    @rpc
    def ListBranch(self, request, context):
        repo = self._repo(request.repo)
        with self.pfs.lock:
            branches = sorted(repo.branches.values(), key=lambda b: b.seq,
                              reverse=not request.reverse)
            infos = [self._branch_info(repo, b.name) for b in branches]
        yield from infos

    @rpc
    def DeleteBranch(self, request, context):
        self.pfs.delete_branch(self._repo(request.branch.repo), request.branch.name,
                               request.force)
        return empty_pb2.Empty()

    # --------------------------------------------------------------- files
    @rpc
    def ModifyFile(self, request_iterator, context):
        writer = _ModifyFileWriter(self, context)
        for request in request_iterator:
            writer.apply(request)
        writer.commit()
        return empty_pb2.Empty()

    @rpc
    def GetFile(self, request, context):
        if request.URL:
            raise PfsError(grpc.StatusCode.UNIMPLEMENTED, "GetFile to a URL is not supported")
        commit = self._open_for_read(request.file.commit, context)
        entry = self.pfs.entry(commit, request.file.path)
        if entry.is_dir:
            raise PfsError(grpc.StatusCode.INVALID_ARGUMENT,
                           "cannot get directory or non-regular file. Use GetFileTAR instead")
        data = commit.files[entry.path][request.offset:]
        yield from self.server.file_frames(data, entry.path, context)

    @rpc
    def InspectFile(self, request, context):
        commit = self._open_for_read(request.file.commit, context)
        return file_info(commit, self.pfs.entry(commit, request.file.path))

    @rpc
    def ListFile(self, request, context):
        commit = self._open_for_read(request.file.commit, context)
        with self.pfs.lock:
            top = self.pfs.entry(commit, request.file.path)
            entries = self.pfs.children(commit, top) if top.is_dir else [top]
        for entry in _paginate(entries, request):
            yield file_info(commit, entry)

    @rpc
    def WalkFile(self, request, context):
        """driver_file.go walkFile: the path and everything below it in path order; a
        missing path is NOT_FOUND "commit/<id> does not contain item: (<path>)"
        (pacherr.ErrNotExist), except the root of an empty commit, which is empty."""
        commit = self._open_for_read(request.file.commit, context)
        path = clean_path(request.file.path)
        with self.pfs.lock:
            try:
                entries = self.pfs.walk(commit, path)
            except PfsError as err:
                if err.code != grpc.StatusCode.NOT_FOUND:
                    raise
                raise PfsError(grpc.StatusCode.NOT_FOUND,
                               f"commit/{commit.id} does not contain item: "
                               f"({'' if path == '/' else path})") from None
            if path == "/" and not commit.files:
                entries = []
        yield from self.server.listing_frames(
            "WalkFile", [file_info(commit, e) for e in _paginate(entries, request)], context)

    @rpc
    def GlobFile(self, request, context):
        """driver_file.go globFile: matching files and directories in path order."""
        commit = self._open_for_read(request.commit, context)
        with self.pfs.lock:
            entries = self.pfs.glob(commit, request.pattern)
        yield from self.server.listing_frames(
            "GlobFile", [file_info(commit, e) for e in entries], context)


class _ModifyFileWriter:
    """One ModifyFile stream: ops go to a private copy, applied at the end (atomic)."""

    def __init__(self, servicer: PfsServicer, context):
        self.servicer = servicer
        self.pfs = servicer.pfs
        self.context = context
        self.target: Commit | None = None
        self.auto: tuple[Repo, str] | None = None
        self.files: dict[str, bytes] | None = None
        self.chunks = 0
        self.bytes = 0

    def _set_commit(self, commit: pfs_pb2.Commit) -> None:
        repo_msg = commit.repo if commit.repo.name else commit.branch.repo
        repo = self.servicer._repo(repo_msg)
        with self.pfs.lock:
            branch = repo.branches.get(commit.branch.name) if not commit.id else None
            if not commit.id and (branch is None or branch.head is None
                                  or branch.head.finishing is not None):
                # driver_file.go modifyFile: writing to a branch whose head is finishing or
                # finished makes a new commit (oneOffModifyFile).
                self.auto = (repo, commit.branch.name)
                self.files = dict(_base_files(branch.head if branch else None))
                return
            self.target = self.servicer._resolve(commit)
            self._check_open()
            self.files = dict(self.target.files)

    def _check_open(self) -> None:
        if self.target is not None and self.target.finishing is not None:
            raise PfsError(UNKNOWN, f"commit {self.target.key} has already finished")

    def apply(self, request: pfs_pb2.ModifyFileRequest) -> None:
        kind = request.WhichOneof("body")
        if kind == "set_commit":
            self._set_commit(request.set_commit)
            return
        if self.files is None:
            raise PfsError(grpc.StatusCode.INVALID_ARGUMENT,
                           "ModifyFile: set_commit must be the first message")
        if kind == "add_file":
            self._add(request.add_file)
        elif kind == "delete_file":
            self._delete(request.delete_file.path)
        elif kind == "copy_file":
            self._copy(request.copy_file)

    def _add(self, add: pfs_pb2.AddFile) -> None:
        if add.WhichOneof("source") == "url":
            raise PfsError(grpc.StatusCode.UNIMPLEMENTED, "AddFile from a URL is not supported")
        path = clean_path(add.path)
        bad = _GLOB_CHARS.search(path)
        if bad:
            raise PfsError(UNKNOWN, f"path ({path}) invalid: globbing character "
                                    f"({bad.group()}) not allowed in path")
        chunk = add.raw.value
        if chunk:
            allowed = self.servicer.server.modify_file_budget(self.chunks, self.bytes, chunk)
            if allowed is not None:
                self.files[path] = self.files.get(path, b"") + chunk[:allowed]
                self.servicer.server.fail_modify_file(self, path)
            self.chunks += 1
            self.bytes += len(chunk)
        self.files[path] = self.files.get(path, b"") + chunk

    def _delete(self, raw_path: str) -> None:
        """pachd 2.x deletes a directory only when the path ends with "/"."""
        path = clean_path(raw_path)
        if path != "/" and not raw_path.endswith("/"):
            self.files.pop(path, None)
            return
        prefix = "/" if path == "/" else path + "/"
        for p in [p for p in self.files if p.startswith(prefix)]:
            del self.files[p]

    def _copy(self, copy: pfs_pb2.CopyFile) -> None:
        source = self.servicer._resolve(copy.src.commit)
        src = clean_path(copy.src.path)
        dst = clean_path(copy.dst)
        for entry in self.pfs.walk(source, src):
            if entry.is_dir:
                continue
            target = dst if entry.path == src else dst + entry.path[len(src):]
            data = source.files[entry.path]
            self.files[target] = (self.files.get(target, b"") if copy.append else b"") + data

    def commit(self, partial: bool = False) -> None:
        """Publish the stream's changes: into the open commit, or a new auto commit."""
        if self.files is None:
            return
        with self.pfs.lock:
            if self.auto is not None:
                repo, branch = self.auto
                commit = self.pfs.start_commit(repo, branch, None, "")
                commit.files = self.files
                if not partial:
                    self.pfs.finish_commit(commit, "", "")
                return
            self._check_open()
            self.target.files = self.files
