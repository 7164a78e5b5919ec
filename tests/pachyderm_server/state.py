"""In-memory model of pachd 2.7's file system (PFS), independent of gRPC.

The servicer in ``server.py`` translates protobuf requests into calls on ``Pfs`` and
``PfsError`` into gRPC status codes. Behaviour follows pachd 2.7 where it matters to a
client: projects (``default``), global uuid4-hex commit IDs shared by a commit set,
copy-on-write commits, ``branch~N``/``branch^`` ancestry and pachd's error texts
(``src/server/pfs/pfs.go``). Each behaviour below names the pachd 2.7 source it follows
(repository pachyderm/pachyderm, tag v2.7.8):

- Commit states: StartCommit opens a commit and moves the branch head to it
  (``driver.go: startCommit``); FinishCommit only marks it *finishing*
  (``driver.go: finishCommit``); pachd's master later compacts and validates it and marks
  it *finished* (``master.go: finishRepoCommits, finalizeCommit``), here after
  ``finishing_delay`` seconds on a timer. Errored commits skip compaction and validation.
- Validation: a file that is also a directory fails the commit with
  ``file / directory path collision (<path>)`` (``compaction.go: checkIndex``).
- DropCommitSet (``commit_set.go: dropCommitSet, deleteCommit``): refused when another
  commit set depends on the set (``ErrSquashWithSubvenance``) or one of its commits has
  children (``ErrDropWithChildren``); otherwise every branch whose head was dropped points
  at the parent again (or at a new empty commit when there was none).
- Errors without a gRPC status in pachd (these texts) reach the client as UNKNOWN
  (``src/internal/middleware/errors/interceptor.go: errorForGRPC``).
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import grpc

DEFAULT_PROJECT = "default"
USER, AUTO = 1, 2  # pfs_v2.OriginKind
UNKNOWN = grpc.StatusCode.UNKNOWN  # pachd errors without a status (see the module docstring)
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_UUID_RE = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{19}$")
_ANCESTRY_RE = re.compile(r"^([^~^]*)((?:[~^][0-9]*)*)$")


class PfsError(Exception):
    """A failed PFS operation: a gRPC status code and pachd's message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(message: str) -> PfsError:
    return PfsError(grpc.StatusCode.NOT_FOUND, message)


def clean_path(path: str) -> str:
    """pachd's canonical file path: absolute, no trailing slash, no dot segments."""
    cleaned = posixpath.normpath("/" + (path or "").strip("/"))
    return "/" if cleaned in ("/", "//") else cleaned


def parse_ancestry(ref: str) -> tuple[str, int]:
    """Split ``master~2`` / ``master^^`` / ``<id>^`` into (base, generations back)."""
    match = _ANCESTRY_RE.match(ref)
    if not match:
        raise PfsError(grpc.StatusCode.INVALID_ARGUMENT, f"invalid commit reference {ref!r}")
    base, suffix = match.groups()
    steps = sum(int(n) if n else 1 for _, n in re.findall(r"([~^])([0-9]*)", suffix))
    return base, steps


@dataclass(eq=False)
class Commit:
    id: str
    project: str
    repo: str
    branch: str | None
    parent: Commit | None
    origin: int
    description: str
    started: float
    seq: int
    files: dict[str, bytes] = field(default_factory=dict)
    children: list[Commit] = field(default_factory=list)
    direct_provenance: list[Commit] = field(default_factory=list)
    finishing: float | None = None  # set by FinishCommit
    finished: float | None = None  # set once "compacted and validated" (finalize)
    error: str = ""

    @property
    def repo_key(self) -> str:
        return f"{self.project}/{self.repo}"

    @property
    def key(self) -> str:
        return f"{self.repo_key}@{self.id}"

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.files.values())


@dataclass(eq=False)
class Branch:
    name: str
    head: Commit | None
    seq: int
    provenance: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(eq=False)
class Repo:
    project: str
    name: str
    description: str
    created: float
    seq: int
    branches: dict[str, Branch] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.project}/{self.name}"


@dataclass(eq=False)
class Project:
    name: str
    description: str
    created: float


@dataclass(frozen=True)
class Entry:
    """A file or directory of a commit, as InspectFile/ListFile report it."""

    path: str  # directories end with "/"
    is_dir: bool
    size: int
    hash: bytes


class Pfs:
    """The whole PFS state behind one lock; ``changed`` wakes waiters on commit changes."""

    def __init__(self, finishing_delay: float = 0.0) -> None:
        self.finishing_delay = finishing_delay  # seconds from FinishCommit to finished
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._seq = 0
        self.projects: dict[str, Project] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.repos.clear()
            self.projects = {DEFAULT_PROJECT: Project(DEFAULT_PROJECT, "", time.time())}
            self.changed.notify_all()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ---------------------------------------------------------------- projects
    def create_project(self, name: str, description: str, update: bool) -> None:
        with self.lock:
            _validate_name("project", name)
            if name in self.projects:
                if not update:
                    raise PfsError(
                        grpc.StatusCode.ALREADY_EXISTS, f"project {name} already exists"
                    )
                self.projects[name].description = description
                return
            self.projects[name] = Project(name, description, time.time())

    def project(self, name: str) -> Project:
        name = name or DEFAULT_PROJECT
        try:
            return self.projects[name]
        except KeyError:
            raise not_found(f'project "{name}" not found') from None

    def delete_project(self, name: str, force: bool) -> None:
        with self.lock:
            self.project(name)
            if any(p == name for p, _ in self.repos) and not force:
                raise PfsError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"cannot delete project {name}: it still has repos",
                )
            for key in [k for k in self.repos if k[0] == name]:
                del self.repos[key]
            del self.projects[name]

    # ------------------------------------------------------------------- repos
    def create_repo(self, project: str, name: str, description: str, update: bool) -> None:
        with self.lock:
            project = self.project(project).name
            _validate_name("repo", name)
            existing = self.repos.get((project, name))
            if existing is not None:
                if not update:
                    raise PfsError(
                        grpc.StatusCode.ALREADY_EXISTS, f"repo {existing.key} already exists"
                    )
                existing.description = description
                return
            self.repos[(project, name)] = Repo(
                project, name, description, time.time(), self._next_seq()
            )

    def repo(self, project: str, name: str) -> Repo:
        project = project or DEFAULT_PROJECT
        try:
            return self.repos[(project, name)]
        except KeyError:
            raise not_found(f"repo {project}/{name} not found") from None

    def list_repos(self, projects: list[str]) -> list[Repo]:
        with self.lock:
            repos = [r for r in self.repos.values() if not projects or r.project in projects]
            return sorted(repos, key=lambda r: r.seq, reverse=True)

    def delete_repo(self, project: str, name: str, force: bool) -> None:
        with self.lock:
            try:
                repo = self.repo(project, name)
            except PfsError:
                if force:
                    return
                raise
            del self.repos[(repo.project, repo.name)]
            self.changed.notify_all()

    # ---------------------------------------------------------------- branches
    def branch(self, repo: Repo, name: str) -> Branch:
        try:
            return repo.branches[name]
        except KeyError:
            raise not_found(f'branch "{name}" not found in repo {repo.key}') from None

    def create_branch(
        self,
        repo: Repo,
        name: str,
        head: Commit | None,
        provenance: list[tuple[str, str, str]],
        new_commit_set: bool,
    ) -> None:
        with self.lock:
            _validate_name("branch", name)
            for project, repo_name, branch_name in provenance:
                upstream = self.repo(project, repo_name)
                if branch_name not in upstream.branches:  # pachd creates missing upstreams
                    self.create_branch(upstream, branch_name, None, [], False)
            branch = repo.branches.get(name)
            if branch is None:
                branch = repo.branches[name] = Branch(name, None, self._next_seq())
            branch.provenance = list(provenance)
            if head is not None:
                branch.head = head
            elif branch.head is None or new_commit_set:
                # In 2.x every branch points at a commit: a new one starts empty.
                commit = self._new_commit(
                    repo, name, branch.head, uuid.uuid4().hex, AUTO, ""
                )
                commit.finishing = commit.finished = time.time()  # makeEmptyCommit: closed
            self.changed.notify_all()

    def delete_branch(self, repo: Repo, name: str, force: bool) -> None:
        with self.lock:
            if name not in repo.branches:
                if force:
                    return
                self.branch(repo, name)
            del repo.branches[name]

    def _downstream(self, repo: Repo, branch: str) -> list[tuple[Repo, Branch]]:
        """Branches whose provenance reaches (repo, branch), in breadth-first order."""
        found: list[tuple[Repo, Branch]] = []
        frontier = [(repo.project, repo.name, branch)]
        while frontier:
            upstream = frontier.pop(0)
            for other in self.repos.values():
                for b in other.branches.values():
                    if upstream in b.provenance and all(b is not x for _, x in found):
                        found.append((other, b))
                        frontier.append((other.project, other.name, b.name))
        return found

    # ----------------------------------------------------------------- commits
    def _new_commit(
        self,
        repo: Repo,
        branch: str | None,
        parent: Commit | None,
        commit_id: str,
        origin: int,
        description: str,
    ) -> Commit:
        commit = Commit(
            id=commit_id,
            project=repo.project,
            repo=repo.name,
            branch=branch,
            parent=parent,
            origin=origin,
            description=description,
            started=time.time(),
            seq=self._next_seq(),
            files=dict(_base_files(parent)),
        )
        if parent is not None:
            parent.children.append(commit)
        repo.commits[commit_id] = commit
        if branch is not None:
            repo.branches.setdefault(branch, Branch(branch, None, self._next_seq()))
            repo.branches[branch].head = commit
        return commit

    def start_commit(
        self, repo: Repo, branch: str, parent: Commit | None, description: str
    ) -> Commit:
        with self.lock:
            if not branch:
                raise PfsError(grpc.StatusCode.INVALID_ARGUMENT, "branch must be specified")
            _validate_name("branch", branch)
            existing = repo.branches.get(branch)
            if existing is not None and existing.provenance:
                raise PfsError(
                    UNKNOWN, f"cannot start a commit on an output branch: {repo.key}@{branch}"
                )
            if parent is None and existing is not None:
                parent = existing.head
            # driver.go linkParent: a parent that is at least finishing will do
            if parent is not None and parent.finishing is None:
                raise PfsError(UNKNOWN, f"parent commit {parent.key} has not been finished")
            commit_id = uuid.uuid4().hex
            commit = self._new_commit(repo, branch, parent, commit_id, USER, description)
            self._propagate(repo, branch, commit_id)
            self.changed.notify_all()
            return commit

    def _propagate(self, repo: Repo, branch: str, commit_id: str) -> None:
        """Open an AUTO commit with the same global ID on every downstream branch."""
        for down_repo, down_branch in self._downstream(repo, branch):
            if commit_id in down_repo.commits:
                continue
            commit = self._new_commit(
                down_repo, down_branch.name, down_branch.head, commit_id, AUTO, ""
            )
            for project, repo_name, branch_name in down_branch.provenance:
                upstream = self.repos.get((project, repo_name))
                head = upstream.branches.get(branch_name).head if upstream else None
                if head is not None:
                    commit.direct_provenance.append(head)

    def finish_commit(self, commit: Commit, description: str, error: str) -> None:
        """driver.go finishCommit: mark *finishing*; finalize() marks it *finished*."""
        with self.lock:
            if commit.finishing is not None:
                raise PfsError(UNKNOWN, f"commit {commit.key} has already finished")
            if description:
                commit.description = description
            commit.error = error or ""
            commit.finishing = time.time()
            self.changed.notify_all()
        # master.go finishRepoCommits: errored commits skip compaction and validation
        if commit.error or self.finishing_delay <= 0:
            self.finalize(commit)
        else:
            timer = threading.Timer(self.finishing_delay, self.finalize, args=[commit])
            timer.daemon = True
            timer.start()

    def finalize(self, commit: Commit) -> None:
        """master.go finalizeCommit: validate, then mark finished (a dropped commit is
        skipped, as the master returns when the commit is no longer found)."""
        with self.lock:
            repo = self.repos.get((commit.project, commit.repo))
            if repo is None or repo.commits.get(commit.id) is not commit:
                return
            if not commit.error:
                commit.error = validation_error(commit.files)
            commit.finished = time.time()
            self.changed.notify_all()

    def resolve(self, project: str, repo_name: str, branch: str, ref: str) -> Commit:
        """pachd's resolveCommit: an ID or branch, plus ``~N``/``^`` ancestry."""
        with self.lock:
            repo = self.repo(project, repo_name)
            base, steps = parse_ancestry(ref) if ref else ("", 0)
            if base and not _UUID_RE.match(base):
                if branch and branch != base:
                    raise PfsError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"invalid commit ID given with a branch ({repo.key}@{branch}): {ref}",
                    )
                branch, base = base, ""
            if base:
                commit = repo.commits.get(base)
                if commit is None:
                    raise not_found(f"commit {repo.key}@{base} not found")
            elif branch:
                commit = self.branch(repo, branch).head
                if commit is None:
                    raise not_found(f"commit {repo.key}@{branch} not found")
            else:
                raise PfsError(
                    grpc.StatusCode.INVALID_ARGUMENT, "cannot resolve commit with no ID or branch"
                )
            for _ in range(steps):
                if commit.parent is None:
                    raise not_found(f"commit {repo.key}@{ref} not found")
                commit = commit.parent
            return commit

    def commit_set(self, commit_id: str) -> list[Commit]:
        with self.lock:
            commits = [r.commits[commit_id] for r in self.repos.values() if commit_id in r.commits]
            if not commits:
                raise not_found(f"no commits found for commitset {commit_id}")
            return sorted(commits, key=lambda c: c.seq)

    def list_commits(self, repo: Repo) -> list[Commit]:
        """All commits of a repo, newest first."""
        with self.lock:
            return sorted(repo.commits.values(), key=lambda c: c.seq, reverse=True)

    def list_commit_sets(self, project: str) -> list[list[Commit]]:
        with self.lock:
            by_id: dict[str, list[Commit]] = {}
            for repo in self.repos.values():
                if project and repo.project != project:
                    continue
                for commit in repo.commits.values():
                    by_id.setdefault(commit.id, []).append(commit)
            sets = [sorted(cs, key=lambda c: c.seq) for cs in by_id.values()]
            return sorted(sets, key=lambda cs: cs[0].seq, reverse=True)

    def wait(self, commits: list[Commit], is_active, state: str = "finished") -> None:
        """driver.go inspectCommit with wait=FINISHING/FINISHED: block until the state is
        reached (or the caller gives up); a commit dropped meanwhile is an error."""
        with self.lock:
            while is_active():
                for commit in commits:
                    repo = self.repos.get((commit.project, commit.repo))
                    if repo is None or repo.commits.get(commit.id) is not commit:
                        raise PfsError(UNKNOWN, f"commit {commit.key} was deleted")
                if all(getattr(c, state) is not None for c in commits):
                    return
                self.changed.wait(timeout=0.1)

    def subvenant_sets(self, commit_id: str) -> list[str]:
        """commit_set.go subvenantCommitSets / pfsdb CommitSetSubvenance: IDs of other
        commit sets with a commit whose (transitive) provenance reaches this set."""
        reached = {c for c in self.commit_set(commit_id)}
        every = [c for r in self.repos.values() for c in r.commits.values()]
        grew = True
        while grew:
            grew = False
            for commit in every:
                if commit not in reached and any(p in reached for p in commit.direct_provenance):
                    reached.add(commit)
                    grew = True
        return sorted({c.id for c in reached if c.id != commit_id})

    def drop_commit_set(self, commit_id: str) -> None:
        """commit_set.go dropCommitSet: refuse dependents, then children; then delete."""
        with self.lock:
            commits = self.commit_set(commit_id)
            dependents = self.subvenant_sets(commit_id)
            if dependents:
                # %q of a *pfs.CommitSet prints its text proto: "id:\"...\""
                listed = " ".join(f'id:"{d}"' for d in dependents)
                raise PfsError(
                    UNKNOWN,
                    f'commit set "id:\\"{commit_id}\\"" cannot be dropped because it has '
                    f"subvenant commit sets: [{listed}]",
                )
            for commit in commits:
                if commit.children:
                    raise PfsError(UNKNOWN, f"cannot drop a commit that has children: {commit.key}")
            for commit in commits:
                self._delete_commit(commit)
            self.changed.notify_all()

    def squash_commit_set(self, commit_id: str) -> None:
        with self.lock:
            commits = self.commit_set(commit_id)
            if self.subvenant_sets(commit_id):
                raise PfsError(UNKNOWN, f"commit set {commit_id} has subvenant commit sets")
            for commit in commits:
                if not commit.children:
                    raise PfsError(
                        UNKNOWN,
                        "cannot squash a commit that has no children as that would cause "
                        f"data loss, use the drop operation instead: {commit.key}",
                    )
            for commit in commits:
                self._delete_commit(commit)
            self.changed.notify_all()

    def _delete_commit(self, commit: Commit) -> None:
        """commit_set.go deleteCommit: children must be finished; branch heads move to
        the parent (a headless branch gets a new empty commit); children are re-parented."""
        for child in commit.children:
            if child.finished is None:
                suffix = ", consider using WaitCommit" if child.finishing is not None else ""
                raise PfsError(
                    UNKNOWN, f"cannot squash until child commit {child.key} is finished{suffix}"
                )
        repo = self.repos[(commit.project, commit.repo)]
        del repo.commits[commit.id]
        for name, branch in list(repo.branches.items()):
            if branch.head is commit:
                if commit.parent is not None:
                    branch.head = commit.parent
                else:  # makeEmptyCommit: a closed, empty commit in a new commit set
                    empty = self._new_commit(repo, name, None, uuid.uuid4().hex, AUTO, "")
                    empty.finishing = empty.finished = time.time()
        if commit.parent is not None:
            commit.parent.children.remove(commit)
            commit.parent.children.extend(commit.children)
        for child in commit.children:
            child.parent = commit.parent

    # ------------------------------------------------------------------- files
    def entry(self, commit: Commit, path: str) -> Entry:
        path = clean_path(path)
        with self.lock:
            if path in commit.files:
                data = commit.files[path]
                return Entry(path, False, len(data), hashlib.sha256(data).digest())
            prefix = "/" if path == "/" else path + "/"
            below = sorted(p for p in commit.files if p.startswith(prefix))
            if not below and path != "/":
                raise not_found(
                    f"file {path} not found in repo {commit.repo_key} at commit {commit.id}"
                )
            digest = hashlib.sha256()
            for p in below:
                digest.update(p.encode() + hashlib.sha256(commit.files[p]).digest())
            size = sum(len(commit.files[p]) for p in below)
            return Entry(prefix, True, size, digest.digest())

    def children(self, commit: Commit, directory: Entry) -> list[Entry]:
        names: set[str] = set()
        for p in commit.files:
            if p.startswith(directory.path):
                rest = p[len(directory.path) :]
                names.add(rest.split("/", 1)[0] + ("/" if "/" in rest else ""))
        return [self.entry(commit, directory.path + n) for n in sorted(names)]

    def walk(self, commit: Commit, path: str) -> list[Entry]:
        top = self.entry(commit, path)
        if not top.is_dir:
            return [top]
        out = [top]
        for child in self.children(commit, top):
            out.extend(self.walk(commit, child.path) if child.is_dir else [child])
        return out

    def glob(self, commit: Commit, pattern: str) -> list[Entry]:
        regex = _glob_regex(clean_path(pattern))
        everything = self.walk(commit, "/")
        return [e for e in everything if regex.match(e.path.rstrip("/") or "/")]


def validation_error(files: dict[str, bytes]) -> str:
    """compaction.go checkIndex over the sorted paths: a file that is also a directory."""
    paths = sorted(files)
    for prev, curr in itertools.pairwise(paths):
        if curr.startswith(prev + "/"):
            return f"file / directory path collision ({curr})"
    return ""


def _base_files(parent: Commit | None) -> dict[str, bytes]:
    """A new commit starts from its nearest ancestor that did not fail."""
    while parent is not None and parent.error:
        parent = parent.parent
    return parent.files if parent is not None else {}


def _validate_name(kind: str, name: str) -> None:
    if not name or not _NAME_RE.match(name):
        raise PfsError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{kind} name ({name}) invalid: only alphanumeric characters, "
            "underscores, and dashes are allowed",
        )


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Pachyderm-style glob: ``*`` and ``?`` stay within a path segment, ``**`` crosses."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out.append("[" + pattern[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "$")
