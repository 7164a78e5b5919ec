"""Whether a run's error is a Ctrl-C."""

from __future__ import annotations


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
