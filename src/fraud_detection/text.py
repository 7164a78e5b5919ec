"""Showing untrusted text safely: in error messages, logs and MLflow tags.

A damaged file can hold control characters, terminal escape sequences or bytes that are not
UTF-8. Echoed as they are, they garble the terminal and the MLflow UI; shown escaped and cut
short, they still tell the user what the bad value looked like.
"""

from __future__ import annotations

LIMIT = 80


def shown(value: str | bytes | None, limit: int = LIMIT) -> str:
    """``value`` with non-printable characters and invalid UTF-8 escaped, cut to ``limit``.

    Bytes that are not valid UTF-8 appear as ``\\xNN``; control characters (newlines, tabs,
    escape sequences) as their Python escapes. A cut value ends with ``...`` and says how
    many characters it had.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    escaped = "".join(
        char if char.isprintable() or char == " " else repr(char)[1:-1] for char in value
    )
    if len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}... ({len(escaped)} characters)"
