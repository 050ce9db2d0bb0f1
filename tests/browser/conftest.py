"""Browser tier fixtures: the demo's daphne and headless Chromium, one of each per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext

from devtools.browser import TIMEOUT_MS, chromium
from devtools.live import LiveServer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """daphne serving the demo project (project/urls.py), with the test users."""
    server = LiveServer(
        workdir=tmp_path_factory.mktemp("browser"),
        settings="project.settings",
        ready_path="/accounts/login/",
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile with a desktop viewport (modules with a base URL define their own)."""
    context = await browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    await context.close()
