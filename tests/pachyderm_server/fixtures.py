"""The ``pachd`` fixture: a fresh in-process test pachd per test (it starts in milliseconds).

Register it in a ``conftest.py`` with ``from tests.pachyderm_server.fixtures import pachd``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import PachdServer


@pytest.fixture
def pachd() -> Iterator[PachdServer]:
    """A running test pachd: ``.address``, fault switches and state inspection helpers."""
    server = PachdServer().start()
    try:
        yield server
    finally:
        server.stop()
