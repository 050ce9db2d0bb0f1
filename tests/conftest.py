"""Shared fixtures: a live daphne for the whole session, signed-in clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.live import LiveServer, login
from tests.users import PASSWORD


@pytest.fixture(scope="session")
def live_server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def live(live_server_dir: Path) -> Iterator[LiveServer]:
    """One real daphne serving tests/urls.py for the whole run."""
    server = LiveServer(live_server_dir)
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def anon(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        yield client


def _signed_in(username: str):
    @pytest.fixture
    async def client(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as c:
            await login(c, username, PASSWORD)
            yield c

    return client


alice = _signed_in("alice")
bob = _signed_in("bob")
root = _signed_in("root")
carol = _signed_in("carol")
