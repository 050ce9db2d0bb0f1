"""Shared fixtures (a live daphne for the whole session, signed-in clients) and the tiers.

Each folder is a tier and marks its tests with it: tests/unit/ ``unit``,
tests/live/ ``live``, tests/browser/ ``browser`` (markers registered in
pyproject.toml). A unit test that asks for the live server is a collection
error, so the fast tier (``pytest -m "not live and not browser"``) stays fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from devtools.folders import make_folders
from devtools.live import LiveServer, login
from devtools.users import PASSWORD

TIERS = ("unit", "live", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        try:
            tier = item.path.relative_to(here).parts[0]
        except ValueError:
            continue
        if tier not in TIERS:
            continue
        item.add_marker(tier)
        if tier == "unit" and "live" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} uses the live server: move it to tests/live/")


@pytest.fixture(scope="session")
def live_server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live")


@pytest.fixture(scope="session")
def live(live_server_dir: Path) -> Iterator[LiveServer]:
    """One real daphne serving tests/projects/default/urls.py for the whole run."""
    server = LiveServer(live_server_dir, env=make_folders(live_server_dir))
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
dana = _signed_in("dana")
