"""Tracking work that runs in a worker thread beside the pipeline; its result is a future."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


def in_background(name: str, function: Callable[..., Any], *args: Any) -> Future:
    """``function(*args)`` in a new worker thread named ``name``; the future gives its result
    (or raises what it raised). The thread ends with the call; nothing waits for it."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    try:
        return executor.submit(function, *args)
    finally:
        executor.shutdown(wait=False)
