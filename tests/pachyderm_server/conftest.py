"""Fixtures for the test pachd's own tests."""

from tests.pachyderm_server.fixtures import pachd  # noqa: F401
