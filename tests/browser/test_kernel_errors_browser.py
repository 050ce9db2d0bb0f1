"""A failed cell in a real browser: the viewer reads a sentence with an error id.

Without DEBUG, a visitor sees "This cell failed (error id ...)" where marimo
showed "An internal error occurred / See console for details", and never the
error's text; staff see the same sentence and the traceback under it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from devtools.browser import TIMEOUT_MS, chromium
from devtools.folders import make_folders
from devtools.live import LiveServer
from devtools.users import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGE = "/notracebacks/"  # tests/notebooks/fails.py: its only cell raises
SENTENCE = re.compile(r"This cell failed \(error id [0-9a-f]{12}\)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """daphne with DEBUG off, as in production."""
    workdir: Path = tmp_path_factory.mktemp("kernel_errors_browser")
    server = LiveServer(workdir, env={**make_folders(workdir), "DJANGO_DEBUG": "0"})
    server.prepare()
    server.start()
    yield server
    server.stop()


async def test_visitor_sees_the_error_id_not_the_error(
    browser: Browser, production: LiveServer
) -> None:
    context = await browser.new_context(base_url=production.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        await page.goto(PAGE)
        await expect(page.get_by_text(SENTENCE)).to_be_visible()
        text = await page.locator("body").inner_text()
        assert "deliberate-failure-91c2" not in text
        assert "See console for details" not in text
        assert "An internal error occurred" not in text
    finally:
        await context.close()


async def test_staff_see_the_error_with_its_id(browser: Browser, production: LiveServer) -> None:
    context = await browser.new_context(base_url=production.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        await page.goto("/accounts/login/")
        await page.get_by_label("Username").fill("root")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r".*/$"))
        await page.goto(PAGE)
        await expect(page.get_by_text(SENTENCE)).to_be_visible()
        await expect(page.get_by_text(re.compile("deliberate-failure-91c2")).first).to_be_visible()
    finally:
        await context.close()
