"""Runs stopped with Ctrl-C: whether a run's error is one, and the exit handlers that finish
what such a run left (its MLflow run, its provenance records, its half-saved versions)."""

from __future__ import annotations

import atexit
from collections.abc import Callable

# The handlers registered so far: a hook registers its handler once per process.
_AT_EXIT: set[Callable[[], None]] = set()


def at_exit(handler: Callable[[], None]) -> None:
    """Call ``handler`` when the process exits, once however often it is registered.

    Python calls exit handlers in the reverse order of their registration: a handler
    registered later runs earlier. The hooks rely on that order (``settings.py``).
    """
    if handler not in _AT_EXIT:
        _AT_EXIT.add(handler)
        atexit.register(handler)


def interrupted(error: BaseException) -> bool:
    """Ctrl-C, also where py4j raised its own error while handling the ``KeyboardInterrupt``.

    pyspark's Ctrl-C handler cancels the Spark jobs through the connection the interrupted
    call is using. py4j's handling of the interrupt can then shut that connection down twice,
    raising ``Py4JError: Gateway must be connected to send cancel cmd.`` in its place.
    """
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
    return False
