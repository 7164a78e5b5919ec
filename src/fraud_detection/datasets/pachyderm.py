"""``PachydermDataset`` loads and saves data in a Pachyderm (pachd 2.7) repo through
python-pachyderm 7.6: every load reads exactly one commit, every save is one atomic commit.

A load resolves the branch head (or the pinned version) to a commit ID once, waits while
pachd is still finishing that commit, refuses it if it is open or finished with an error,
reads every file at that ID, checks each file's size against pachd's, and records the ID
in ``last_load_commit``. A save stages the data on local disk, opens one commit, streams
every file and a small provenance file into it, finishes it and waits until pachd has
finished it; on any failure or interrupt the commit is dropped, so the branch is exactly
as it was (``pachyderm_commits.py``). Kedro versions are Pachyderm commit IDs:
``kedro run --load-versions name:<commit-id>`` (a global ID works) or ``name:master~1``.

Run metadata (for hooks): fill ``save_metadata`` (or call ``set_run_metadata``) before a
save; it becomes the commit description (JSON with at least ``kedro_run_id``,
``mlflow_run_id``, ``node`` and ``git_commit``) and the provenance file. After a save,
``last_save_commit`` holds the new commit ID; ``pfs_uri()`` names what was read or written.

Examples:
    Using the YAML API (``conf/pachyderm/catalog.yml``):

    ```yaml
    raw_transactions:
      type: fraud_detection.datasets.pachyderm.PachydermDataset
      repo: raw-transactions
      path: /transactions.csv
      file_format: csv            # pandas backend by default
      create_repo: true
      credentials: pachyderm      # conf/local/credentials.yml -> pachyderm: {auth_token: ...}
      finish_timeout: 600         # seconds to wait for pachd to finish a commit

    model_input_table@spark:
      type: fraud_detection.datasets.pachyderm.PachydermDataset
      repo: model-input
      path: /model_input_table
      file_format: parquet_dir    # a directory of parquet shards, read by Spark
      save_args:
        partitionBy: [type]
      pachd_address: grpcs://pachd.example.com:30650  # else PACHD_ADDRESS, else pachctl
      root_certs_file: /etc/ssl/pachd-ca.pem          # the CA of pachd's TLS certificate
    ```

    Using the Python API:

    >>> import pandas as pd
    >>> from kedro.io.core import Version
    >>> from fraud_detection.datasets.pachyderm import PachydermDataset
    >>>
    >>> dataset = PachydermDataset(repo="raw", path="/cars.csv", file_format="csv",
    ...                            pachd_address="localhost:30650", create_repo=True)
    >>> dataset.set_run_metadata(kedro_run_id="2024-01-01T00.00.00.000Z", node="split")
    >>> dataset.save(pd.DataFrame({"col1": [1, 2], "col2": [4, 5]}))
    >>> commit_id = dataset.last_save_commit
    >>> pinned = PachydermDataset(repo="raw", path="/cars.csv", file_format="csv",
    ...                           pachd_address="localhost:30650",
    ...                           version=Version(commit_id, None))
    >>> reloaded = pinned.load()
    >>> pinned.pfs_uri()  # 'pfs://localhost:30650/default/raw@<commit-id>:/cars.csv'
"""

from __future__ import annotations

import json
import math
import posixpath
import re
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from .pachyderm_commits import Place, ensure_repo, readable, wait_finished, write_commit
from .pachyderm_connection import PachdTarget, connect, is_not_found, resolve_target
from .pachyderm_formats import (
    BACKENDS,
    DEFAULT_LOAD_ARGS,
    DEFAULT_SAVE_ARGS,
    DIRECTORY_FORMATS,
    read_local,
    staged_files,
    write_local,
)
from .pachyderm_staging import staged_for_spark, staging
from .pachyderm_transfer import download, upload
from .versioned import VersionRecord

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
_UUID_RE = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{19}$")
_CREDENTIAL_KEYS = frozenset({"auth_token", "root_certs", "root_certs_file"})


class PachydermDataset(AbstractVersionedDataset[Any, Any]):
    """Data in a Pachyderm repo: csv, parquet, parquet_dir, spark_model or json.

    Hooks learn the commit read or written through ``loaded_version``/``saved_version``
    (:class:`~fraud_detection.datasets.versioned.TracksVersions`) and hand the run's IDs
    over with ``set_run_metadata``. Attributes:
        save_metadata: dict written into the next save's commit description and
            provenance file. Standard keys: ``kedro_run_id``, ``mlflow_run_id``, ``node``,
            ``git_commit`` (always present, ``null`` when unset) and ``input_commits``
            (e.g. ``{"raw_transactions": "pfs://.../raw@<id>:/transactions.csv"}``);
            any other JSON-able keys are kept too.
        last_load_commit: commit ID the last successful load read.
        last_save_commit: commit ID the last successful save created.
        resolved_commit: whichever of the two happened last.
    """

    # Kedro passes ``Version(load, save)`` to versioned datasets; with this class flag the
    # catalog does so without ``versioned: true``. Load versions are commit IDs or refs
    # (``catalog.load(name, version=<commit>)`` works too); save versions are ignored:
    # pachd assigns the commit ID.
    versioned = True

    RUN_METADATA_KEYS = ("kedro_run_id", "mlflow_run_id", "node", "git_commit")

    def __init__(
        self,
        *,
        repo: str,
        path: str,
        file_format: str,
        branch: str = "master",
        project: str = "default",
        backend: str | None = None,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        pachd_address: str | None = None,
        credentials: dict[str, Any] | None = None,
        create_repo: bool = False,
        tmp_dir: str | None = None,
        provenance: bool = True,
        provenance_path: str | None = None,
        connect_timeout: float = 5.0,
        finish_timeout: float = 600.0,
        root_certs_file: str | None = None,
        version: Version | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates a new ``PachydermDataset``; nothing is contacted until first use.

        Args:
            repo: Repo name (letters, digits, ``_`` and ``-``).
            path: File (csv, parquet, json) or directory (parquet_dir, spark_model)
                inside the repo, e.g. ``/transactions.csv``. A save replaces it entirely.
            file_format: One of ``csv``, ``parquet``, ``parquet_dir``, ``spark_model``,
                ``json``.
            branch: Branch to read the head of and to commit to.
            project: Pachyderm project.
            backend: ``pandas`` or ``spark`` for csv/parquet (default pandas);
                parquet_dir and spark_model are Spark only; json needs none.
            load_args: Passed to ``pandas.read_*``, ``spark.read.load``, ``json.load``,
                or ``{"model_class": "pyspark.ml.PipelineModel"}`` for spark_model.
            save_args: Passed to ``DataFrame.to_*``, ``DataFrameWriter.save`` (e.g.
                ``partitionBy``; ``mode`` is ignored) or ``json.dump``.
            pachd_address: ``host:port`` or ``grpc[s]://host:port``; else the
                ``PACHD_ADDRESS`` environment variable; else pachctl's active context.
            credentials: ``{"auth_token": ..., "root_certs": PEM, "root_certs_file": path}``
                from Kedro's credentials, never from the catalog itself. The token is sent
                as pachd expects it (gRPC metadata ``authn-token``) and never shown.
                Without a token, pachctl's session token (when the address came from its
                config) or python-pachyderm's ``PACH_PYTHON_AUTH_TOKEN`` is used.
            create_repo: Create the repo on save when it does not exist.
            tmp_dir: Where data is staged on its way in and out; must be readable by Spark
                executors when Spark is not local. Default: the system temp directory.
            provenance: Write a provenance JSON file in the same commit as the data.
            provenance_path: Its path; default ``/.provenance/<path>.json``.
            connect_timeout: Seconds to wait for pachd to answer before failing.
            finish_timeout: Seconds to wait for pachd to finish a commit (compaction and
                validation): after a save's FinishCommit, and before reading a commit
                that is still finishing. A save that times out is dropped.
            root_certs_file: PEM file of the CA that signed pachd's TLS certificate (for
                ``grpcs://`` addresses; implies TLS). Default: the system's CAs, or
                pachctl's ``server_cas``.
            version: Kedro version; ``load`` is a commit ID, global ID or ref (``master~1``).
            metadata: Arbitrary metadata, ignored by Kedro.
        """
        self._project = _checked_name("project", project)
        self._repo = _checked_name("repo", repo)
        self._branch = _checked_name("branch", branch)
        self._path = _checked_path("path", path)
        self._file_format, self._backend = _checked_format(file_format, backend)
        self._is_directory = self._file_format in DIRECTORY_FORMATS
        key = (self._file_format, self._backend)
        self._load_args = {**DEFAULT_LOAD_ARGS.get(key, {}),
                           **_checked_dict("load_args", load_args)}
        self._save_args = {**DEFAULT_SAVE_ARGS.get(key, {}),
                           **_checked_dict("save_args", save_args)}
        self._credentials = _checked_credentials(credentials)
        self._pachd_address = pachd_address
        self._create_repo = bool(create_repo)
        self._tmp_dir = tmp_dir
        self._provenance = bool(provenance)
        default_provenance = "/.provenance" + (self._path if self._path != "/" else "/root")
        self._provenance_path = _checked_path(
            "provenance_path", provenance_path or default_provenance + ".json"
        )
        _checked_seconds("connect_timeout", connect_timeout)
        self._connect_timeout = float(connect_timeout)
        self._finish_timeout = _checked_seconds("finish_timeout", finish_timeout)
        if root_certs_file and not self._credentials.get("root_certs_file"):
            self._credentials["root_certs_file"] = str(root_certs_file)  # credentials win
        if version is not None and not isinstance(version, Version):
            raise DatasetError(f"version must be a kedro.io.core.Version, got {version!r}.")
        super().__init__(filepath=PurePosixPath(self._path), version=version)
        self.metadata = metadata
        self.save_metadata: dict[str, Any] = {}
        self.last_load_commit: str | None = None
        self.last_save_commit: str | None = None
        self.resolved_commit: str | None = None
        self._client = None
        self._target: PachdTarget | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ public API
    def set_run_metadata(self, metadata: dict[str, Any] | None = None, **fields: Any) -> None:
        """Merge ``metadata`` and ``fields`` into ``save_metadata`` for the next save."""
        self.save_metadata.update(metadata or {}, **fields)

    def pfs_uri(self, commit: str | None = None) -> str:
        """``pfs://<host:port>/<project>/<repo>@<commit>:<path>``; default commit: the last
        one loaded or saved, else the pinned version, else the branch."""
        ref = commit or self.resolved_commit or self._load_ref()
        address = self._resolve_target().address
        return f"pfs://{address}/{self._project}/{self._repo}@{ref}:{self._path}"

    def loaded_version(self) -> VersionRecord | None:
        """The commit the last load read (its ID is also its digest); ``None`` before any."""
        return self._commit_record(self.last_load_commit)

    def saved_version(self) -> VersionRecord | None:
        """The commit the last save created; ``None`` before any (pachd names it)."""
        return self._commit_record(self.last_save_commit)

    def _commit_record(self, commit: str | None) -> VersionRecord | None:
        if commit is None:
            return None
        return VersionRecord("pachyderm", self.pfs_uri(commit), commit, digest=commit)

    def resolve_load_version(self) -> str | None:
        """The pinned commit ID or ref; None means the branch head at load time."""
        return self._version.load if self._version and self._version.load else None

    def resolve_save_version(self) -> str | None:
        """Always None: pachd, not Kedro, names the commit a save creates."""
        return None

    def list_versions(self, full_path: bool = False) -> list[str]:
        """Commit IDs on the branch that finished without error, newest first
        (``pfs://`` URIs with ``full_path=True``)."""
        client = self._connect()
        branch_head = self._place().commit(branch=self._branch)
        try:
            infos = list(client.list_commit(self._repo, to_commit=branch_head, origin_kind=0,
                                            project_name=self._project))
        except Exception as exc:
            raise self._explain(exc, self._location()) from exc
        ids = [i.commit.id for i in infos if i.HasField("finished") and not i.error]
        return [self.pfs_uri(i) for i in ids] if full_path else ids

    # ------------------------------------------------------------ kedro API
    def load(self) -> Any:
        client = self._connect()
        info = self._resolve_load_commit(client)
        commit_id = info.commit.id
        if self._backend == "spark":
            local = self._stage_for_spark(client, commit_id)
            data = read_local(local, self._file_format, self._backend, self._load_args)
        else:
            with self._staging("load") as tmp:
                local = tmp / self._local_name
                self._download(client, commit_id, local)
                data = read_local(local, self._file_format, self._backend, self._load_args)
        self.last_load_commit = self.resolved_commit = commit_id
        return data

    def save(self, data: Any) -> None:
        client = self._connect()
        self._ensure_repo(client)
        with self._staging("save") as tmp:
            local = tmp / self._local_name
            write_local(data, self._file_format, self._backend, local, self._save_args)
            files = staged_files(local, self._path, self._is_directory)
            commit_id = self._commit(client, files)
        self.last_save_commit = self.resolved_commit = commit_id
        self._logger.info("Saved %s in commit %s", self._location(), commit_id)

    def put_file(self, local: str | Path) -> str:
        """Commit a local file (or folder) as this dataset, bytes unchanged, like
        ``pachctl put file``; returns the new commit ID."""
        source = Path(local)
        if not source.exists():
            raise DatasetError(f"{self._location()}: {source} does not exist; nothing to put")
        client = self._connect()
        self._ensure_repo(client)
        commit_id = self._commit(client, staged_files(source, self._path, self._is_directory))
        self.last_save_commit = self.resolved_commit = commit_id
        self._logger.info("Put %s into %s in commit %s", source, self._location(), commit_id)
        return commit_id

    def commit_metadata(self, ref: str) -> dict[str, Any]:
        """What the save that made commit ``ref`` recorded: its description (JSON with the
        run IDs) and the provenance file; answers "which run produced this commit?"."""
        client = self._connect()
        try:
            info = next(iter(client.inspect_commit(self._ref_commit(ref))))
        except Exception as exc:
            raise self._explain(exc, self._location(ref)) from exc
        commit_id = info.commit.id
        try:
            description = json.loads(info.description)
        except ValueError:
            description = info.description
        record = None
        if self._provenance:
            try:
                raw = client.get_file(self._place().commit(commit_id),
                                      self._provenance_path).read()
                record = json.loads(raw)
            except Exception as exc:  # an older commit, or one not written by this dataset
                if not is_not_found(exc):
                    raise self._explain(exc, self._location(commit_id)) from exc
        return {"commit": commit_id, "uri": self.pfs_uri(commit_id),
                "description": description, "provenance_file": record}

    def _exists(self) -> bool:
        client = self._connect()
        ref = self._load_ref()
        try:
            info = next(iter(client.inspect_commit(self._ref_commit(ref))))
            if not info.HasField("finishing"):
                return False  # open: a load would refuse it
            if not info.HasField("finished"):  # finishing: as a read does, wait for it
                info = wait_finished(client, self._place(), info.commit.id,
                                     self._finish_timeout)
            if info.error:
                return False  # a load would refuse this commit too
            client.inspect_file(self._place().commit(info.commit.id), self._path)
        except Exception as exc:
            if is_not_found(exc):
                return False
            raise self._explain(exc, self._location(ref)) from exc
        return True

    def _release(self) -> None:
        super()._release()
        self._client = None

    def _describe(self) -> dict[str, Any]:
        return {
            "project": self._project,
            "repo": self._repo,
            "branch": self._branch,
            "path": self._path,
            "file_format": self._file_format,
            "backend": self._backend,
            "load_args": self._load_args,
            "save_args": self._save_args,
            "pachd_address": self._pachd_address,
            "create_repo": self._create_repo,
            "finish_timeout": self._finish_timeout,
            "version": self._version,
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # ---------------------------------------------------------- connection
    def _resolve_target(self) -> PachdTarget:
        if self._target is None:
            try:
                self._target = resolve_target(self._pachd_address, self._credentials)
            except DatasetError as exc:
                raise DatasetError(f"{self._location()}: {exc}") from exc
        return self._target

    def _connect(self):
        with self._lock:
            if self._client is None:
                target = self._resolve_target()
                try:
                    self._client = connect(target, self._connect_timeout)
                except DatasetError as exc:
                    raise DatasetError(f"{self._location()}: {exc}") from exc
            return self._client

    def _place(self) -> Place:
        return Place(self._project, self._repo, self._branch, self._path, self._target)

    def _explain(self, exc: BaseException, location: str) -> DatasetError:
        ref = location.split("@", 1)[1].split(":", 1)[0]
        return self._place().error(exc, ref)

    # --------------------------------------------------------------- loading
    def _staging(self, purpose: str) -> AbstractContextManager[Path]:
        """A private temp directory (``pachyderm_staging``), removed when done."""
        return staging(self._tmp_dir, purpose, self._location())

    @property
    def _local_name(self) -> str:
        return PurePosixPath(self._path).name or "data"

    def _location(self, ref: str | None = None) -> str:
        return f"{self._project}/{self._repo}@{ref or self._branch}:{self._path}"

    def _load_ref(self) -> str:
        return self._version.load if self._version and self._version.load else self._branch

    def _ref_commit(self, ref: str):
        if ref == self._branch and not (self._version and self._version.load):
            return self._place().commit(branch=ref)
        return self._place().commit(ref)

    def _resolve_load_commit(self, client):
        """Resolve the version or branch head to one finished, error-free commit."""
        ref = self._load_ref()
        try:
            info = next(iter(client.inspect_commit(self._ref_commit(ref))))
        except Exception as exc:
            raise self._with_commit_set_hint(client, exc, ref) from exc
        return readable(client, self._place(), info, self._finish_timeout)

    def _with_commit_set_hint(self, client, exc: Exception, ref: str) -> DatasetError:
        error = self._explain(exc, self._location(ref))
        if not (_UUID_RE.match(ref) and is_not_found(exc)):
            return error
        try:
            repos = sorted({f"{i.commit.branch.repo.project.name}/{i.commit.branch.repo.name}"
                            for i in client.inspect_commit(ref)})
        except Exception:  # noqa: BLE001 - only a hint
            return error
        return DatasetError(f"{error} Global commit {ref} exists only in: {', '.join(repos)}.")

    def _download(self, client, commit_id: str, local: Path) -> None:
        location = self._location(commit_id)
        commit = self._place().commit(commit_id)
        try:
            count = download(client, commit, self._path, self._is_directory, local, location)
        except DatasetError:
            raise
        except Exception as exc:
            raise self._explain(exc, location) from exc
        self._logger.debug("Downloaded %d file(s) from %s", count, location)

    def _stage_for_spark(self, client, commit_id: str) -> Path:
        """Download once per commit into a directory that lives until the process exits."""
        key = (self._resolve_target().address, self._project, self._repo, commit_id,
               self._path)
        return staged_for_spark(key, self._tmp_dir, self._local_name,
                                lambda local: self._download(client, commit_id, local))

    # ---------------------------------------------------------------- saving
    def _ensure_repo(self, client) -> None:
        if ensure_repo(client, self._place(), self._create_repo):
            self._logger.info("Created Pachyderm repo %s/%s", self._project, self._repo)

    def _run_metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = dict.fromkeys(self.RUN_METADATA_KEYS)
        metadata.update(self.save_metadata)
        return metadata

    def _description(self) -> str:
        return json.dumps({**self._run_metadata(), "path": self._path},
                          default=str, separators=(",", ":"))

    def _provenance_file(self, commit_id: str) -> dict[str, bytes]:
        if not self._provenance:
            return {}
        record = {
            **self._run_metadata(),
            "commit": commit_id,
            "dataset": {"project": self._project, "repo": self._repo,
                        "branch": self._branch, "path": self._path,
                        "file_format": self._file_format, "backend": self._backend},
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return {self._provenance_path: json.dumps(record, indent=2, default=str).encode()}

    def _commit(self, client, files: list[tuple[str, Path]]) -> str:
        """One commit holding ``files`` and the provenance file, or nothing at all."""

        def write(commit) -> None:
            # Replace whatever was at the path, file or directory (pachd deletes a
            # directory only when the path ends with "/").
            upload(client, commit, [self._path, self._path.rstrip("/") + "/"], files,
                   self._provenance_file(commit.id))

        return write_commit(client, self._place(), self._description(), write,
                            self._finish_timeout)


def _checked_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise DatasetError(
            f"Invalid Pachyderm {kind} name {value!r}: use letters, digits, '_' and '-'."
        )
    return value


def _checked_path(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{kind} must be a non-empty path inside the repo, got {value!r}.")
    if ".." in value.split("/"):
        raise DatasetError(f"{kind} must not contain '..': {value!r}.")
    return posixpath.normpath("/" + value.strip("/")).replace("//", "/")


def _checked_format(file_format: Any, backend: Any) -> tuple[str, str | None]:
    if file_format not in BACKENDS:
        raise DatasetError(
            f"Unknown file_format {file_format!r}; choose one of {', '.join(BACKENDS)}."
        )
    allowed = BACKENDS[file_format]
    backend = allowed[0] if backend is None else backend
    if backend not in allowed:
        choices = ", ".join(str(b) for b in allowed)
        raise DatasetError(
            f"file_format {file_format!r} does not support backend {backend!r} "
            f"(supported: {choices})."
        )
    return file_format, backend


def _checked_seconds(kind: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise DatasetError(f"{kind} must be a positive number of seconds, got {value!r}.")
    return float(value)


def _checked_dict(kind: str, value: Any) -> dict[str, Any]:
    if value is not None and not isinstance(value, dict):
        raise DatasetError(f"{kind} must be a mapping, got {type(value).__name__}.")
    return dict(value or {})


def _checked_credentials(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DatasetError("credentials must be a mapping such as {auth_token: ...}.")
    unknown = sorted(set(value) - _CREDENTIAL_KEYS)
    if unknown:
        raise DatasetError(
            f"Unknown credentials keys {unknown}; PachydermDataset accepts "
            f"{sorted(_CREDENTIAL_KEYS)}."
        )
    return dict(value)
