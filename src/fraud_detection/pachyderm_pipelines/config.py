"""``conf/<env>/pachyderm_pipelines.yml``, typed: unknown keys and literal secrets refused.

Secrets reach a worker only as Kubernetes secrets (``transform.secrets``): a spec is
stored in pachd's spec repo and shown by ``pachctl inspect pipeline``, so a literal token or
password in ``env`` would leak to everyone who can read the pipeline.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fraud_detection.redaction import looks_secret, redact

_K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class PipelinesConfigError(ValueError):
    """The pipelines configuration is wrong: the message names the file, the key and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """One key of a Kubernetes secret, exposed to the worker as an environment variable."""

    name: str = Field(pattern=_K8S_NAME, description="Kubernetes secret name")
    key: str = Field(min_length=1)
    env_var: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


class Resources(_Strict):
    """Kubernetes resource requests of one worker (pachd's ResourceSpec)."""

    cpu: float | None = Field(default=None, gt=0)
    memory: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]+)?([KMGTPE]i?)?$")
    disk: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]+)?([KMGTPE]i?)?$")


class StageConfig(_Strict):
    """One stage: its pachd pipeline name, input glob, workers and resources."""

    pipeline: str = Field(pattern=r"^[a-zA-Z0-9_-]+$")
    glob: str = Field(default="/", pattern=r"^/")
    parallelism: int = Field(default=1, ge=1)
    resources: Resources = Resources()
    datum_tries: int = Field(default=3, ge=1)


class PipelinesConfig(_Strict):
    """Everything a pipeline spec needs that the Kedro pipelines and catalog do not say."""

    project: str = Field(default="default", pattern=r"^[a-zA-Z0-9_-]+$")
    image: str = Field(min_length=1)
    image_pull_secrets: list[str] = []
    working_dir: str = Field(default="/project", pattern=r"^/")
    tracking_uri: str = Field(min_length=1)
    env: dict[str, str] = {}
    secrets: list[SecretRef] = []
    repos: dict[str, str] = Field(
        description="input name -> repo, for inputs no stage of this project writes")
    stages: dict[str, StageConfig]

    @field_validator("env")
    @classmethod
    def _no_secret_values(cls, env: dict[str, str]) -> dict[str, str]:
        for name in env:
            if looks_secret(name):  # a credential: it must come from a secret
                raise ValueError(
                    f"env.{name} looks like a credential: a literal value would be stored in "
                    "the pipeline spec; put it in a Kubernetes secret and list it under "
                    f"'secrets' (name, key, env_var: {name})")
        return env

    @field_validator("tracking_uri")
    @classmethod
    def _no_userinfo(cls, uri: str) -> str:
        if redact(uri) != uri:
            raise ValueError("tracking_uri holds credentials (user:password@): set "
                             "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD from "
                             "'secrets' instead")
        return uri

    @classmethod
    def parse(cls, raw: dict[str, Any], source: str) -> PipelinesConfig:
        """Validated settings, or one error naming ``source``, each bad key and its fix."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
                f"{'unknown key (remove it or fix its spelling)' if err['type'] == 'extra_forbidden' else err['msg']}"  # noqa: E501
                for err in exc.errors())
            raise PipelinesConfigError(f"{source}: {problems}") from None
