"""Model registry: versions as releases (``group:artifact:major.minor.build``) and aliases.

Every training run registers a new version (never overwriting one). ``challenger`` always
moves to it; ``champion`` moves only when the new version beats the current champion on the
*same* evaluation data (its score found by ``tracking.champion``) by more than a configured
margin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

logger = logging.getLogger(__name__)

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class Promotion:
    """The outcome of one registration: what moved and why."""

    version: str
    coordinate: str
    promoted: bool
    reason: str
    champion_before: str | None
    champion_score: float | None
    new_score: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def coordinate(release: dict[str, Any], build: str | int) -> str:
    """``group:artifact:major.minor.build`` from ``train.release`` and the registry version."""
    return f"{release['group']}:{release['artifact']}:{release['major_minor']}.{build}"


def current_champion(client: MlflowClient, name: str) -> str | None:
    try:
        return client.get_model_version_by_alias(name, CHAMPION).version
    except MlflowException:
        return None


def decide(
    metric: str, new_score: float, champion: str | None, champion_score: float | None,
    min_improvement: float,
) -> tuple[bool, str]:
    """Whether the new version becomes champion, and the reason in words."""
    if champion is None:
        return True, "no champion yet"
    if champion_score is None:
        return False, f"champion v{champion} could not be scored on this evaluation data"
    if new_score > champion_score + min_improvement:
        return True, (f"{metric} {new_score:.6f} beats champion v{champion} "
                      f"{champion_score:.6f} by more than {min_improvement}")
    return False, (f"{metric} {new_score:.6f} does not beat champion v{champion} "
                   f"{champion_score:.6f} by more than {min_improvement}")


def register_and_promote(
    client: MlflowClient,
    name: str,
    model_uri: str,
    run_id: str,
    release: dict[str, Any],
    metric: str,
    new_score: float,
    min_improvement: float,
    score_champion: Callable[[str], float],
    tags: dict[str, str],
) -> Promotion:
    """Register ``model_uri`` as a new version of ``name``, tag it, and move the aliases.

    ``score_champion(version)`` gives a registered version's score on this run's evaluation
    data; it is called only when a champion exists.
    """
    champion = current_champion(client, name)
    champion_score = None
    if champion is not None:
        try:
            champion_score = score_champion(champion)
        except Exception as exc:  # noqa: BLE001 - a champion with another input schema, say
            logger.warning("Champion v%s of %s could not be scored: %s", champion, name, exc)
    version = str(mlflow.register_model(model_uri, name, tags={"run_id": run_id, **tags}).version)
    coord = coordinate(release, version)  # the build number is the version just created
    client.set_model_version_tag(name, version, "coordinate", coord)
    client.set_registered_model_alias(name, CHALLENGER, version)
    promoted, reason = decide(metric, new_score, champion, champion_score, min_improvement)
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    logger.info("Registered %s v%s (%s): %s, %s", name, version, coord,
                "promoted to champion" if promoted else "challenger only", reason)
    return Promotion(version, coord, promoted, reason, champion, champion_score, new_score)


