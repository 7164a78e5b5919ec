"""Background calls: a named thread, its result or its error through the future."""

from __future__ import annotations

import threading

import pytest

from fraud_detection.tracking.background import in_background


def _thread() -> tuple[str, bool]:
    current = threading.current_thread()
    return current.name, current.daemon


def test_the_future_gives_the_result_of_a_named_thread():
    assert in_background("model-log", _thread).result(timeout=30) == ("model-log", False)
    assert in_background("warm-up", _thread, daemon=True).result(timeout=30) == ("warm-up", True)


def test_the_future_raises_what_the_call_raised():
    def fail(text: str) -> None:
        raise ValueError(text)

    with pytest.raises(ValueError, match="no store"):
        in_background("failing", fail, "no store").result(timeout=30)
