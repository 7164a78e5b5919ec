"""What counts as a user error: a mistake the user can fix, reported without a traceback.

Bad input data, a bad parameter, an unreachable server, an unknown model: the message says
what went wrong, where, and how to fix it, and a command ends with that message alone (the
full trace goes to a log file, :mod:`fraud_detection.failures`). Anything else is a bug in
the project or a library and keeps its traceback.

Raise a subclass of :class:`UserError` for a new kind of user mistake; it may also subclass
the built-in type callers already catch (``class RawDataError(UserError, ValueError)``).
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the message says what, where and how to fix it."""
