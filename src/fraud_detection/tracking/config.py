"""``conf/<env>/mlflow.yml``, read once into typed settings; URIs resolved, secrets kept out."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow

from fraud_detection.redaction import redact
from fraud_detection.tracking.mlflow_yml import checked

_URI_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
# MLflow reads these from the environment; Kedro credentials under `mlflow` fill them.
_CREDENTIAL_ENV = {
    "username": "MLFLOW_TRACKING_USERNAME",
    "password": "MLFLOW_TRACKING_PASSWORD",
    "token": "MLFLOW_TRACKING_TOKEN",
}


# MLflow's client retries a failed HTTP request 7 times with exponential backoff and waits
# 120 s for each answer: minutes before a command hears of an unreachable server. The server
# is checked once (``check_reachable``) when a process activates the settings; after that,
# these bounds apply to every request (a variable the user set wins).
_HTTP_BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


class TrackingUnavailableError(RuntimeError):
    """The MLflow tracking (or registry) server does not answer; raised before any work."""


def check_reachable(uri: str, timeout: float, what: str = "tracking") -> None:
    """Fail within ``timeout`` seconds when an HTTP MLflow server does not answer ``/health``:
    refused, unresolvable, or accepting the connection and never answering."""
    if not uri.startswith(("http://", "https://")):
        return
    url = f"{uri.rstrip('/')}/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError as exc:
        if exc.code < 500:  # answering, e.g. 401/404 behind a proxy: reachable
            return
        reason = f"HTTP {exc.code}"
    except OSError as exc:  # TimeoutError, ConnectionRefusedError, URLError
        reason = str(getattr(exc, "reason", exc)) or type(exc).__name__
    raise TrackingUnavailableError(
        f"MLflow {what} server {redact(uri)} is unreachable ({reason}, waited at most "
        f"{timeout:g} s); start it, or set {what}_uri in conf/<env>/mlflow.yml or "
        f"MLFLOW_{what.upper()}_URI"
    )


def _local_uri(uri: str, project_path: Path) -> str:
    """Make ``sqlite:///relative.db`` and relative folders absolute, inside the project."""
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        return f"sqlite:///{(project_path / uri.removeprefix('sqlite:///')).resolve()}"
    if "://" not in uri and uri not in ("databricks", "databricks-uc"):
        return (project_path / uri).resolve().as_uri()
    return uri


@dataclass(frozen=True)
class MlflowSettings:
    enabled: bool
    tracking_uri: str
    registry_uri: str | None
    artifact_location: str | None
    experiment_name: str
    registered_model_name: str
    connect_timeout: float
    roles: dict[str, Any] = field(default_factory=dict)
    champion: dict[str, Any] = field(default_factory=dict)
    log: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict[str, Any], project_path: Path,
                    env: str | None = None) -> MlflowSettings:
        """Settings from mlflow.yml; ``MLFLOW_TRACKING_URI`` (set by ``mlflow run``) wins.

        An unknown key or a value of the wrong type is refused, naming its file under
        ``conf/base`` or ``conf/<env>`` (:mod:`fraud_detection.tracking.mlflow_yml`).
        """
        sections = ("roles", "champion", "log")  # an empty section (`log:`) takes the defaults
        typed = checked({key: value for key, value in config.items()
                         if not (key in sections and value is None)}, project_path, env)
        tracking = os.environ.get("MLFLOW_TRACKING_URI") or typed.tracking_uri or (
            "sqlite:///mlflow.db"
        )
        registry = os.environ.get("MLFLOW_REGISTRY_URI") or typed.registry_uri
        artifacts = typed.artifact_location
        return cls(
            enabled=typed.enabled,
            tracking_uri=_local_uri(tracking, project_path),
            registry_uri=_local_uri(registry, project_path) if registry else None,
            artifact_location=_local_uri(artifacts, project_path) if artifacts else None,
            experiment_name=typed.experiment_name,
            registered_model_name=typed.registered_model_name,
            connect_timeout=typed.connect_timeout,
            roles=typed.roles.model_dump(),
            champion=typed.champion.model_dump(),
            log=typed.log.model_dump(by_alias=True),
        )

    @property
    def is_local_store(self) -> bool:
        return self.tracking_uri.startswith(("sqlite:", "file:")) or "://" not in self.tracking_uri

    def role(self, name: str) -> Any:
        return self.roles.get(name)

    def activate(self) -> None:
        """Check that the configured servers answer, bound MLflow's HTTP retries, and point
        this process's MLflow client at the configured stores. Every command that talks to
        MLflow goes through here, so an unreachable server fails in seconds, naming its URI.

        ``mlflow.set_tracking_uri`` also exports ``MLFLOW_TRACKING_URI``; it is put back as
        it was, so that variable keeps meaning what the user or ``mlflow run`` set, and a
        later run in the same process (a notebook, a test) reads its own mlflow.yml.
        """
        check_reachable(self.tracking_uri, self.connect_timeout)
        if self.registry_uri and self.registry_uri != self.tracking_uri:
            check_reachable(self.registry_uri, self.connect_timeout, "registry")
        for name, value in _HTTP_BOUNDS.items():
            os.environ.setdefault(name, value)
        saved = {name: os.environ.get(name) for name in _URI_ENV}
        mlflow.set_tracking_uri(self.tracking_uri)
        if self.registry_uri:
            mlflow.set_registry_uri(self.registry_uri)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def export_credentials(credentials: dict[str, Any] | None) -> None:
    """Hand Kedro credentials (``mlflow: {username, password, token}``) to MLflow's client.

    They go to the environment MLflow reads, never to params, tags or logs.
    """
    for key, value in (credentials or {}).items():
        if key in _CREDENTIAL_ENV and value:
            os.environ[_CREDENTIAL_ENV[key]] = str(value)
