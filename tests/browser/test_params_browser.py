"""A query parameter form in a real browser: repeated values reach the kernel.

Headless Chromium opens ``/items/?limit=5&tags=a&tags=b`` on the session's
live daphne. The page is redirected once to its canonical URL (defaults
filled in), and tests/notebooks/items.py echoes what the kernel got: both
tags, although marimo's frontend puts only ``tags=b`` on the socket URL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from devtools.browser import TIMEOUT_MS, Problems, chromium
from devtools.live import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, live: LiveServer) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    problems = Problems(page, live.url)
    yield page
    await context.close()
    assert problems.errors == []


async def test_items_page_echoes_cleaned_repeated_values(page: Page, live: LiveServer) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto("/items/?limit=5&tags=a&tags=b")
    await expect(page).to_have_url(
        live.url + "/items/?limit=5&offset=0&order_by=created_at&tags=a&tags=b"
    )
    report = page.locator("pre.items-report")
    await expect(report).to_be_visible()
    seen = json.loads(await report.inner_text())
    assert seen["mo_query_params"] == {
        "limit": ["5"],
        "offset": ["0"],
        "order_by": ["created_at"],
        "tags": ["a", "b"],
    }
    assert seen["request_query_params"] == seen["mo_query_params"]
    # The frontend's socket URL carried only the last tag: the cookie did the rest.
    kernel_socket = next(url for url in sockets if "/items/ws?" in url)
    assert "tags=b" in kernel_socket
    assert "tags=a" not in kernel_socket


async def test_invalid_parameters_show_the_errors(browser: Browser, live: LiveServer) -> None:
    context = await browser.new_context(base_url=live.url)
    page = await context.new_page()
    response = await page.goto("/items/?limit=0&tags=z")
    assert response is not None and response.status == 400
    await expect(page.get_by_role("heading", name="Invalid query parameters")).to_be_visible()
    await expect(page.locator("dl.errors")).to_contain_text("limit")
    await expect(page.locator("dl.errors")).to_contain_text("tags")
    await context.close()
