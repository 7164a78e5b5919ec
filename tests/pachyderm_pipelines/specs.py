"""Validation of generated Pachyderm pipeline specs against pachd's published JSON schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO.parent / "shared" / "schemas" / "pachyderm" / "CreatePipelineRequest.schema.json"


def spec_validator() -> jsonschema.protocols.Validator:
    """pachd's CreatePipelineRequest schema (draft-04, camelCase, no extra keys)."""
    return jsonschema.Draft4Validator(json.loads(SCHEMA.read_text()))


def schema_errors(spec: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in spec_validator().iter_errors(spec)]
