"""Finding, checking and talking to pachd for ``PachydermDataset``.

python-pachyderm 7.6 reads no ``PACHD_ADDRESS`` and makes no call when a ``Client`` is
built, so a wrong address only shows up later as a hanging or failing RPC. This module
resolves the address the way a user expects (argument, ``PACHD_ADDRESS``, pachctl's
config), checks it answers within a deadline, and turns gRPC failures into
``DatasetError`` messages that say what failed, where, and how to fix it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import grpc
from kedro.io.core import DatasetError

DEFAULT_PORT = 30650
HOW_TO_SET = (
    "set the address with the dataset's `pachd_address`, the PACHD_ADDRESS environment "
    "variable (e.g. PACHD_ADDRESS=grpc://localhost:30650), or `pachctl connect <address>`"
)


@dataclass(frozen=True)
class PachdTarget:
    """Where pachd is and how to authenticate; ``auth_token`` never appears in repr."""

    host: str
    port: int
    tls: bool
    source: str  # where the address came from, for error messages
    auth_token: str | None = field(default=None, repr=False)
    root_certs: bytes | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.address}"


def parse_address(address: str, source: str) -> tuple[str, int, bool]:
    """``host:port`` or ``grpc[s]://host:port`` -> (host, port, tls)."""
    url = urlparse(address if "://" in address else f"grpc://{address}")
    try:
        port = url.port or DEFAULT_PORT
    except ValueError:
        port = None
    if url.scheme not in ("grpc", "grpcs", "http", "https") or not url.hostname or not port \
            or url.path not in ("", "/") or url.username or url.password:
        raise DatasetError(
            f"Invalid pachd address {address!r} (from {source}): expected host:port or "
            f"grpc://host:port (grpcs:// for TLS)."
        )
    return url.hostname, port, url.scheme in ("grpcs", "https")


def _pachctl_context() -> tuple[dict[str, Any], str] | None:
    """The active context of pachctl's config (PACH_CONFIG or ~/.pachyderm/config.json)."""
    path = Path(os.environ.get("PACH_CONFIG") or Path.home() / ".pachyderm" / "config.json")
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())
        name = config["v2"]["active_context"]
        return config["v2"]["contexts"][name], f"pachctl config {path} (context {name!r})"
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"Cannot read the active context of the pachctl config {path}: {exc!r}. Fix it "
            f"with `pachctl config set active-context <name>`, or {HOW_TO_SET}."
        ) from exc


def read_root_certs(path: str) -> bytes:
    """The PEM CA bundle in ``path``; a clear error when it is missing or not PEM."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise DatasetError(
            f"Cannot read the CA file root_certs_file={path!r} ({exc.strerror or exc}): give "
            "the path of the PEM file holding the CA that signed pachd's TLS certificate."
        ) from exc
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise DatasetError(
            f"root_certs_file={path!r} holds no PEM certificate (no '-----BEGIN "
            "CERTIFICATE-----' line): give the CA of pachd's TLS certificate in PEM format."
        )
    return data


def resolve_target(pachd_address: str | None, credentials: dict[str, Any]) -> PachdTarget:
    """Argument, else PACHD_ADDRESS, else pachctl's active context, else a clear error."""
    token = credentials.get("auth_token") or None  # an empty token means "no auth"
    certs = credentials.get("root_certs")
    if certs is None and credentials.get("root_certs_file"):
        certs = read_root_certs(str(credentials["root_certs_file"]))
    if pachd_address:
        address, source = pachd_address, "the dataset's pachd_address"
    elif os.environ.get("PACHD_ADDRESS"):
        address, source = os.environ["PACHD_ADDRESS"], "PACHD_ADDRESS"
    else:
        found = _pachctl_context()
        if found is None:
            raise DatasetError(f"No pachd address configured: {HOW_TO_SET}.")
        context, source = found
        address = context.get("pachd_address")
        if not address:
            port = (context.get("port_forwarders") or {}).get("pachd", DEFAULT_PORT)
            address = f"grpc://localhost:{port}"
        token = token or context.get("session_token")
        if certs is None and context.get("server_cas"):
            certs = base64.b64decode(context["server_cas"])
    host, port, tls = parse_address(address, source)
    if isinstance(certs, str):
        certs = certs.encode()
    return PachdTarget(host, port, tls or certs is not None, source, token, certs)


def wait_until_reachable(target: PachdTarget, timeout: float) -> None:
    """Fail fast (refused, unresolvable) or after ``timeout`` s if pachd does not answer."""
    # A private subchannel pool: a fresh connection attempt, not the reconnect backoff
    # of an earlier channel to the same address.
    options = [("grpc.use_local_subchannel_pool", 1)]
    if target.tls:
        creds = grpc.ssl_channel_credentials(root_certificates=target.root_certs)
        channel = grpc.secure_channel(target.address, creds, options=options)
    else:
        channel = grpc.insecure_channel(target.address, options=options)
    settled = threading.Event()
    states: list[grpc.ChannelConnectivity] = []

    def on_change(state: grpc.ChannelConnectivity) -> None:
        states.append(state)
        if state in (grpc.ChannelConnectivity.READY,
                     grpc.ChannelConnectivity.TRANSIENT_FAILURE):
            settled.set()

    channel.subscribe(on_change, try_to_connect=True)
    try:
        settled.wait(timeout)
    finally:
        channel.unsubscribe(on_change)
        channel.close()
    if not states or states[-1] != grpc.ChannelConnectivity.READY:
        why = "connection failed" if settled.is_set() else f"no answer within {timeout:g}s"
        if target.tls:
            tls = (" With grpcs:// a failed TLS handshake looks the same: check that pachd "
                   "serves TLS and that its certificate is signed by the CA in the dataset's "
                   "`root_certs_file` (or the system's CAs when none is given).")
        else:
            tls = " If pachd serves TLS, use a grpcs:// address."
        raise DatasetError(
            f"Cannot reach pachd at {target.url} ({why}; address from {target.source}). "
            f"Check that pachd is running and reachable from here, or {HOW_TO_SET}.{tls}"
        )


def connect(target: PachdTarget, timeout: float):
    """A python-pachyderm ``Client`` for a pachd that was just seen to answer."""
    try:
        import python_pachyderm
    except ImportError as exc:
        raise DatasetError(
            "PachydermDataset needs python-pachyderm 7.6: pip install -e '.[pachyderm]'."
        ) from exc

    wait_until_reachable(target, timeout)
    return python_pachyderm.Client.new_from_pachd_address(
        target.url, auth_token=target.auth_token, root_certs=target.root_certs
    )


def rpc_error(exc: BaseException | None) -> grpc.RpcError | None:
    """The gRPC error behind ``exc`` (python-pachyderm wraps some in ConnectionError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def is_not_found(exc: BaseException) -> bool:
    err = rpc_error(exc)
    return err is not None and err.code() == grpc.StatusCode.NOT_FOUND


def cause_text(exc: BaseException) -> str:
    """A short description of what went wrong, without locations or secrets."""
    err = rpc_error(exc)
    if err is not None:
        return f"{err.code().name}: {err.details()}"
    return f"{type(exc).__name__}: {exc}"


_NOT_FOUND_HINTS = (
    ("repo ", (
        "Create it with `pachctl create repo {repo} --project {project}` or set "
        "`create_repo: true` to create it on the first save"
    )),
    ("branch ", (
        "Nothing was committed to branch {branch!r} yet: save the dataset first, "
        "or choose another branch (`pachctl list branch {repo} --project {project}`)"
    )),
    ("commit ", "Check the commit ID or ref (`pachctl list commit {repo} --project {project}`)"),
    ("project ", "Create it with `pachctl create project {project}`"),
    ("commit/", (  # WalkFile of a missing path (pacherr.ErrNotExist)
        "The path does not exist at that commit "
        "(`pachctl list file {repo}@{ref}:/ --project {project}`)"
    )),
    ("file ", (
        "The path does not exist at that commit "
        "(`pachctl list file {repo}@{ref}:/ --project {project}`)"
    )),
)


def explain(exc: BaseException, location: str, target: PachdTarget | None,
            names: dict[str, str]) -> DatasetError:
    """A DatasetError for a failed PFS call: ``location`` is project/repo@ref:path."""
    err = rpc_error(exc)
    if err is None:
        return DatasetError(f"{location}: {type(exc).__name__}: {exc}")
    code, details = err.code(), err.details() or ""
    where = target.url if target else "pachd"
    if code == grpc.StatusCode.NOT_FOUND:
        hint = next((h for prefix, h in _NOT_FOUND_HINTS if details.startswith(prefix)), "")
        return DatasetError(f"{location}: {details}. {hint.format(**names)}".rstrip(". ") + ".")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return DatasetError(
            f"{location}: pachd at {where} is unavailable ({code.name}: {details}). "
            f"Check that pachd is running, or {HOW_TO_SET}."
        )
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        given = "A token was sent" if target and target.auth_token else "No token was sent"
        return DatasetError(
            f"{location}: pachd at {where} refused the request ({code.name}: {details}). "
            f"{given}: put a valid one under `auth_token` in the dataset's credentials "
            "(conf/local/credentials.yml, e.g. from PACH_AUTH_TOKEN) or run "
            "`pachctl auth login`."
        )
    return DatasetError(f"{location}: pachd at {where} failed: {code.name}: {details}")
