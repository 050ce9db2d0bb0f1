"""Fixtures the unit tier shares: one throwaway redis-server for the tests that need Redis."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from devtools.redis import RedisServer, running


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on a free port for the whole run, stopped afterwards even on failure."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (`make redis`: apt redis-server)")
    with running() as server:
        yield server
