"""Keeping credentials out of what the project shows: logs, errors, MLflow params and specs.

Two kinds of secret reach text: a password inside a URI (``https://user:pw@host``), and a
value whose name says it is a credential (``pachyderm.auth_token``, ``API_KEY``). Every
module that writes text a user or a tracking server keeps uses these, so the rule is one.
"""

from __future__ import annotations

import re

MASK = "***"
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
# Words in a key or variable name that mark its value as a credential.
_SECRET_NAME = re.compile(r"password|secret|token|credential|api_key|access_key|private",
                          re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the ``user:password@`` of every URI in it replaced by ``***@``."""
    return _USERINFO.sub(f"{MASK}@", text)


def looks_secret(name: str) -> bool:
    """Whether a key or variable ``name`` (``train.api_key``, ``PACH_TOKEN``) names a
    credential, so its value is masked or refused."""
    return bool(_SECRET_NAME.search(name))
