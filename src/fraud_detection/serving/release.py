"""What a served model says about itself: registered version, coordinate, threshold, scope.

A model is logged before it is evaluated and registered, so its files cannot hold its
version number or its tuned threshold. The served model learns them when it is loaded, from
the registry of ``MLFLOW_REGISTRY_URI`` / ``MLFLOW_TRACKING_URI`` (the one it was served
from): the version registered from this logged model (its ``model_id``, else its run), with
the tags the training run set (``coordinate``, ``threshold``, ``transaction_types``), and the
run's metric ``threshold`` when the version has no tag, as batch scoring reads them
(``datasets/mlflow_model.py``). A model found in no registry (served from a path or a
``runs:/`` URI) answers with a null version and coordinate, the logged scope and the run's
threshold, and says so in the server's log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fraud_detection.model_scope import SCOPE_KEY, parse_scope

logger = logging.getLogger(__name__)
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Release:
    """The stamps and decision rule of every answer."""

    run_id: str | None
    name: str | None = None
    version: int | None = None
    coordinate: str | None = None
    threshold: float = DEFAULT_THRESHOLD
    scope: tuple[str, ...] | None = None


def load_release(model_dir: Path, logged_scope: tuple[str, ...] | None) -> Release:
    """The release of the logged model in ``model_dir`` (its ``MLmodel``), from the registry."""
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    logged = Model.load(str(model_dir / "MLmodel"))
    run_id, model_id = logged.run_id, getattr(logged, "model_id", None)
    if not run_id:  # saved to a path, never logged: nothing to look up
        logger.warning("Online model saved outside any run: answers carry no model_version, "
                       "coordinate or run ID and use the threshold %s", DEFAULT_THRESHOLD)
        return Release(run_id=None, scope=logged_scope)
    try:
        return _registered(run_id, model_id, logged_scope)
    except (MlflowException, OSError) as error:  # no registry reachable: serve, say so
        logger.warning(
            "Online model of run %s: could not read its registered version (%s: %s); "
            "answers carry no model_version or coordinate and use the threshold %s",
            run_id, type(error).__name__, error, DEFAULT_THRESHOLD)
        return Release(run_id=run_id, scope=logged_scope)


def _registered(run_id: str | None, model_id: str | None,
                logged_scope: tuple[str, ...] | None) -> Release:
    from mlflow import MlflowClient

    client = MlflowClient()
    found = client.search_model_versions(f"run_id = '{run_id}'") if run_id else []
    found = [v for v in found if not model_id or getattr(v, "model_id", None) in (None, model_id)]
    threshold = _run_threshold(client, run_id)
    if not found:
        logger.warning("Online model of run %s is not a registered version: answers carry no "
                       "model_version or coordinate", run_id)
        return Release(run_id=run_id, threshold=threshold, scope=logged_scope)
    version = max(found, key=lambda v: int(v.version))
    if len(found) > 1:
        logger.warning("Online model of run %s is registered %d times; stamping answers with "
                       "%s version %s", run_id, len(found), version.name, version.version)
    tags = version.tags or {}
    tagged = _number(tags.get("threshold"))
    release = Release(
        run_id=tags.get("run_id") or run_id, name=version.name, version=int(version.version),
        coordinate=tags.get("coordinate"),
        threshold=threshold if tagged is None else tagged,
        scope=parse_scope(tags.get(SCOPE_KEY)) or logged_scope,
    )
    logger.info("Online model: %s version %s (%s), threshold %s, scope %s", release.name,
                release.version, release.coordinate, release.threshold,
                ",".join(release.scope) if release.scope else "every type")
    return release


def _run_threshold(client, run_id: str | None) -> float:
    if not run_id:
        return DEFAULT_THRESHOLD
    value = _number(client.get_run(run_id).data.metrics.get("threshold"))
    return DEFAULT_THRESHOLD if value is None else value


def _number(value) -> float | None:
    """A threshold in [0, 1], or ``None`` (none recorded, "" or not a probability)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 1.0 else None
