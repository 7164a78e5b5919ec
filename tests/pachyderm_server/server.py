"""An in-process pachd 2.7 test double: real gRPC on 127.0.0.1, state in memory.

    server = PachdServer(finishing_delay=1.0).start()   # ephemeral port, starts in ms
    client = python_pachyderm.Client.new_from_pachd_address(server.address)
    ...
    server.stop()

It serves the pfs_v2 API (``servicer.py``), pps_v2 CreatePipeline and InspectPipeline
(``pps.py``; requests kept in ``pipelines``), gRPC health and ``GetVersion`` (2.7.0).
``finishing_delay`` (seconds, settable at any time) is how long a finishing commit takes
to become finished, as pachd's compaction and validation do (``state.py``).
``PachdServer(tls=self_signed_certificate())`` serves TLS only (``url`` is ``grpcs://``);
see ``tls.py``.

Auth (``require_token``) follows pachd's auth interceptor
(``src/internal/middleware/auth/interceptor.go`` and ``handler.go``: every pfs_v2 RPC is
``authDisabledOr(authenticated)``; health checks and GetVersion are ``unauthenticated``)
and ``src/auth/auth.go`` (``GetAuthToken`` reads the ``authn-token`` metadata key;
``ErrNotSignedIn`` and ``ErrBadToken`` are UNAUTHENTICATED with the texts used here).

Fault switches (plain attributes, reset with ``reset_faults()``):

- ``drop_get_file_after = N``: every GetFile stream sends N bytes, then aborts UNAVAILABLE
  (python-pachyderm then returns truncated bytes without raising).
- ``fail_modify_file_after_chunks = N`` / ``fail_modify_file_after_bytes = N``: a ModifyFile
  stream aborts UNAVAILABLE after N data chunks / bytes. Nothing it carried is applied
  (pachd applies a ModifyFile stream atomically) unless ``modify_file_fault_partial`` is set,
  which applies what arrived before the fault, as a server that lost the stream mid-write.
- ``unavailable = True``: every call aborts UNAVAILABLE (the port still accepts TCP).
- ``refuse_connections()`` / ``accept_connections()``: stop listening on the port / listen again.
- ``require_token = "..."``: calls without that ``authn-token`` metadata fail UNAUTHENTICATED.
- ``drop_listing_after = N``: WalkFile and GlobFile streams send N entries, then abort
  UNAVAILABLE.
- ``call_hooks["RpcName"] = fn``: ``fn()`` runs (in the server thread) before that RPC is
  handled, e.g. to let "another client" act in the middle of a save;
  ``after_call_hooks`` likewise after a unary RPC succeeded.

``calls`` lists RPC names in arrival order; ``faults_triggered`` lists injected faults.
Inspection helpers (``commits``, ``commit``, ``files``, ``read``) return snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Self

import grpc
from google.protobuf import wrappers_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from python_pachyderm.proto.v2.pfs import pfs_pb2_grpc
from python_pachyderm.proto.v2.pps import pps_pb2_grpc
from python_pachyderm.proto.v2.version.versionpb import version_pb2, version_pb2_grpc

from .pps import PipelineRecord, PpsServicer
from .servicer import PfsServicer
from .state import AUTO, DEFAULT_PROJECT, Commit, Pfs

MIB = 1024 * 1024


@dataclass(frozen=True)
class CommitView:
    """A snapshot of one commit, for assertions."""

    id: str
    repo: str
    project: str
    branch: str | None
    parent_id: str | None
    origin: str  # "USER" or "AUTO"
    description: str
    error: str
    finishing: bool
    finished: bool
    files: dict[str, bytes]

    @classmethod
    def of(cls, commit: Commit) -> CommitView:
        return cls(
            id=commit.id,
            repo=commit.repo,
            project=commit.project,
            branch=commit.branch,
            parent_id=commit.parent.id if commit.parent else None,
            origin="AUTO" if commit.origin == AUTO else "USER",
            description=commit.description,
            error=commit.error,
            finishing=commit.finishing is not None,
            finished=commit.finished is not None,
            files=dict(commit.files),
        )


class _VersionServicer(version_pb2_grpc.APIServicer):
    def GetVersion(self, request, context):
        return version_pb2.Version(major=2, minor=7, micro=0, additional="-test-double")


class PachdServer:
    """A pachd test double listening on ``address`` ("127.0.0.1:PORT")."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        frame_size: int = MIB,
        max_message_size: int = 64 * MIB,
        max_workers: int = 8,
        finishing_delay: float = 0.0,
        tls: tuple[bytes, bytes] | None = None,
    ):
        self.host = host
        self.port = port
        self.frame_size = frame_size
        self.max_message_size = max_message_size
        self.max_workers = max_workers
        self.tls = tls  # (certificate chain PEM, private key PEM)
        self.pfs = Pfs(finishing_delay)
        self.calls: list[str] = []
        self.pipelines: dict[tuple[str, str], PipelineRecord] = {}  # PPS, by (project, name)
        self.faults_triggered: list[str] = []
        self._server: grpc.Server | None = None
        self.reset_faults()

    # ------------------------------------------------------------- lifecycle
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.address}"

    @property
    def finishing_delay(self) -> float:
        return self.pfs.finishing_delay

    @finishing_delay.setter
    def finishing_delay(self, seconds: float) -> None:
        self.pfs.finishing_delay = seconds

    def _build(self) -> grpc.Server:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.max_workers),
            options=[
                ("grpc.max_receive_message_length", self.max_message_size),
                ("grpc.max_send_message_length", self.max_message_size),
            ],
        )
        pfs_pb2_grpc.add_APIServicer_to_server(PfsServicer(self), server)
        pps_pb2_grpc.add_APIServicer_to_server(PpsServicer(self), server)
        version_pb2_grpc.add_APIServicer_to_server(_VersionServicer(), server)
        health_servicer = health.HealthServicer()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        return server

    def start(self) -> PachdServer:
        server = self._build()
        if self.tls:
            chain, key = self.tls
            credentials = grpc.ssl_server_credentials([(key, chain)])
            port = server.add_secure_port(f"{self.host}:{self.port}", credentials)
        else:
            port = server.add_insecure_port(f"{self.host}:{self.port}")
        if not port:
            raise RuntimeError(f"test pachd could not listen on {self.host}:{self.port}")
        self.port = port
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait()
            self._server = None

    def __enter__(self) -> Self:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, auth_token: str | None = None):
        """A python-pachyderm client for this server (trusting its own certificate)."""
        import python_pachyderm

        return python_pachyderm.Client.new_from_pachd_address(
            self.url, auth_token=auth_token, root_certs=self.tls[0] if self.tls else None)

    # ---------------------------------------------------------------- faults
    def reset_faults(self) -> None:
        self.unavailable = False
        self.require_token: str | None = None
        self.drop_get_file_after: int | None = None
        self.fail_modify_file_after_chunks: int | None = None
        self.fail_modify_file_after_bytes: int | None = None
        self.modify_file_fault_partial = False
        self.drop_listing_after: int | None = None
        self.call_hooks: dict[str, Callable[[], object]] = {}
        self.after_call_hooks: dict[str, Callable[[], object]] = {}

    def refuse_connections(self) -> None:
        """Stop listening: connecting to ``address`` is refused until accept_connections()."""
        self.stop()

    def accept_connections(self) -> None:
        if self._server is None:
            self.start()

    def before_call(self, name: str, context: grpc.ServicerContext) -> None:
        self.calls.append(name)
        if self.unavailable:
            self.faults_triggered.append(f"unavailable:{name}")
            context.abort(grpc.StatusCode.UNAVAILABLE, "pachd is unavailable (fault injected)")
        if self.require_token is not None:
            self._authenticate(context)
        hook = self.call_hooks.pop(name, None)
        if hook is not None:
            hook()

    def after_call(self, name: str) -> None:
        hook = self.after_call_hooks.pop(name, None)
        if hook is not None:
            hook()

    def _authenticate(self, context: grpc.ServicerContext) -> None:
        """auth.go GetAuthToken and api_server.go getAuthenticatedUser, as pachd sends them."""
        tokens = [v for k, v in context.invocation_metadata() if k == "authn-token"]
        if len(tokens) > 1:
            context.abort(grpc.StatusCode.UNKNOWN,
                          "multiple authentication token keys found in context")
        if not tokens:
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "no authentication token (try logging in)")
        if tokens[0] != self.require_token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "provided auth token is corrupted or has expired "
                          "(try logging in again)")

    def listing_frames(self, name: str, infos: list, context: grpc.ServicerContext):
        """A WalkFile/GlobFile stream, cut off after ``drop_listing_after`` entries."""
        for count, info in enumerate(infos):
            if self.drop_listing_after is not None and count >= self.drop_listing_after:
                self.faults_triggered.append(f"{name}:{count}")
                context.abort(grpc.StatusCode.UNAVAILABLE,
                              "transport is closing (fault injected)")
            yield info

    def file_frames(self, data: bytes, path: str, context: grpc.ServicerContext):
        """GetFile's BytesValue frames; an empty file sends none (as pachd does)."""
        limit = self.drop_get_file_after
        for start in range(0, len(data), self.frame_size):
            frame = data[start : start + self.frame_size]
            if limit is not None and start + len(frame) > limit:
                if limit > start:
                    yield wrappers_pb2.BytesValue(value=frame[: limit - start])
                self.faults_triggered.append(f"GetFile:{path}:{limit}")
                context.abort(grpc.StatusCode.UNAVAILABLE,
                              "transport is closing (fault injected)")
            yield wrappers_pb2.BytesValue(value=frame)

    def modify_file_budget(self, chunks: int, nbytes: int, chunk: bytes) -> int | None:
        """None if ``chunk`` may be written, else how many of its bytes arrive first."""
        after_chunks = self.fail_modify_file_after_chunks
        after_bytes = self.fail_modify_file_after_bytes
        if after_chunks is not None and chunks >= after_chunks:
            return 0
        if after_bytes is not None and nbytes + len(chunk) > after_bytes:
            return max(0, after_bytes - nbytes)
        return None

    def fail_modify_file(self, writer, path: str) -> None:
        self.faults_triggered.append(f"ModifyFile:{path}")
        if self.modify_file_fault_partial:
            writer.commit(partial=True)
        writer.context.abort(grpc.StatusCode.UNAVAILABLE,
                             "ModifyFile stream broken (fault injected)")

    # ------------------------------------------------------------ inspection
    def commits(self, repo: str, project: str = DEFAULT_PROJECT) -> list[CommitView]:
        """Every commit of ``repo``, newest first."""
        with self.pfs.lock:
            return [CommitView.of(c) for c in self.pfs.list_commits(self.pfs.repo(project, repo))]

    def commit(self, repo: str, ref: str = "master",
               project: str = DEFAULT_PROJECT) -> CommitView:
        """One commit by ID, branch or ancestry ref (``master~1``)."""
        with self.pfs.lock:
            return CommitView.of(self.pfs.resolve(project, repo, "", ref))

    def files(self, repo: str, ref: str = "master",
              project: str = DEFAULT_PROJECT) -> dict[str, bytes]:
        return self.commit(repo, ref, project).files

    def read(self, repo: str, ref: str, path: str, project: str = DEFAULT_PROJECT) -> bytes:
        return self.files(repo, ref, project)[path if path.startswith("/") else "/" + path]

    def repos(self, project: str = DEFAULT_PROJECT) -> list[str]:
        with self.pfs.lock:
            return sorted(name for (p, name) in self.pfs.repos if p == project)
