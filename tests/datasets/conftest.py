"""Fixtures for dataset tests: an in-process test pachd (see tests/pachyderm_server)."""

from tests.pachyderm_server.fixtures import pachd  # noqa: F401
