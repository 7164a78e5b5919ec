"""Tracking work that runs in a worker thread beside the pipeline; its result is a future.

The project's one-off background calls (model logging, the champion's score, opening the
MLflow store) all start here, so each is a named thread whose error reaches whoever asks
for the result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


def in_background(name: str, function: Callable[..., Any], *args: Any,
                  daemon: bool = False) -> Future:
    """``function(*args)`` in a new thread named ``name``; the future gives its result (or
    raises what it raised). The thread ends with the call; nothing waits for it, except
    that Python waits for a non-daemon thread before the process exits. A ``daemon`` thread
    is for work whose result stops mattering when the process ends (warming a cache)."""
    future: Future = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 - handed to whoever asks for the result
            future.set_exception(error)

    threading.Thread(target=work, name=name, daemon=daemon).start()
    return future
