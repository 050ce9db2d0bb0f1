"""Ownership and limits in a real browser: headless Chromium, two profiles.

alice and bob sign in in two browser contexts and open the same notebook.
bob's browser replays alice's captured session id on the API and on a
websocket: refused, while alice's page keeps working. With tiny limits, a
tab over the limit shows why and comes alive when another tab closes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from devtools.browser import TIMEOUT_MS, Problems, chromium
from devtools.folders import make_folders
from devtools.live import LiveServer
from devtools.users import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGE = "/faults-login/"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """daphne with MAX_SESSIONS=3 and MAX_SESSIONS_PER_USER=2."""
    workdir: Path = tmp_path_factory.mktemp("limits_browser")
    server = LiveServer(
        workdir, settings="tests.projects.limits.settings", env=make_folders(workdir)
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


async def signed_in_context(browser: Browser, server: LiveServer, username: str) -> BrowserContext:
    context = await browser.new_context(base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await page.goto("/accounts/login/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r".*/$"))
    await page.close()
    return context


async def open_notebook(context: BrowserContext, page_url: str = PAGE) -> tuple[Page, list[str]]:
    """A tab on the notebook, and the kernel socket URLs it opened."""
    page = await context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto(page_url)
    return page, sockets


async def turn_knob(page: Page, presses: int, expect_text: str) -> None:
    slider = page.get_by_role("slider")
    await slider.focus()
    for _ in range(presses):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_text(expect_text, exact=True)).to_be_visible()


async def test_two_users_in_two_browsers(browser: Browser, live: LiveServer) -> None:
    alice = await signed_in_context(browser, live, "alice")
    bob = await signed_in_context(browser, live, "bob")
    try:
        alice_page, alice_sockets = await open_notebook(alice)
        problems = Problems(alice_page, live.url)
        await expect(alice_page.get_by_text("knob is 0", exact=True)).to_be_visible()
        bob_page, _ = await open_notebook(bob)
        await expect(bob_page.get_by_text("knob is 0", exact=True)).to_be_visible()

        # bob's browser replays the session id it captured from alice's page
        stolen = re.search(r"session_id=([^&]+)", alice_sockets[0]).group(1)
        token = re.search(r'data-token="([^"]*)"', await alice_page.content())
        headers = {
            "Marimo-Session-Id": stolen,
            "Marimo-Server-Token": token.group(1) if token else "",
            "Origin": live.url,
            "Content-Type": "application/json",
        }
        replay = await bob.request.post(
            live.url + PAGE + "api/kernel/set_ui_element_value",
            data='{"objectIds": [], "values": []}',
            headers=headers,
        )
        assert replay.status == 404
        # ... and opens a websocket with it, from bob's page
        close_code = await bob_page.evaluate(
            """(url) => new Promise((resolve) => {
                const ws = new WebSocket(url);
                ws.onclose = (event) => resolve(event.code);
            })""",
            live.ws_url + PAGE + "ws?session_id=" + stolen,
        )
        assert close_code in (1006, 4004)  # refused during or right after the handshake

        # alice's page never noticed; bob's own page works too
        await turn_knob(alice_page, 3, "knob is 3")
        await turn_knob(bob_page, 1, "knob is 1")
        await expect(alice_page.get_by_text("knob is 3", exact=True)).to_be_visible()
        assert problems.errors == []
        assert f"session {stolen} belongs to someone else" in live.log()
    finally:
        await alice.close()
        await bob.close()


async def test_over_the_limit_the_page_says_why_and_recovers(
    browser: Browser, small: LiveServer
) -> None:
    alice = await signed_in_context(browser, small, "alice")
    try:
        first, _ = await open_notebook(alice)
        await expect(first.get_by_text("knob is 0", exact=True)).to_be_visible()
        # two more tabs load at once: both pages pass (one tab open), but
        # only one more kernel fits under MAX_SESSIONS_PER_USER=2
        second, third = await alice.new_page(), await alice.new_page()
        await asyncio.gather(second.goto(PAGE), third.goto(PAGE))
        message = "Too many open sessions for your account (limit 2)"
        waiting = None
        for _ in range(60):
            for tab in (second, third):
                if await tab.get_by_text(message).count():
                    waiting = tab
            if waiting is not None:
                break
            await asyncio.sleep(0.5)
        assert waiting is not None, "no tab says it is over the limit"
        running = third if waiting is second else second
        await expect(running.get_by_text("knob is 0", exact=True)).to_be_visible()
        await expect(waiting.get_by_text("knob is 0", exact=True)).to_have_count(0)

        # a fourth tab gets the 429 page, which retries by itself
        fourth = await alice.new_page()
        response = await fourth.goto(PAGE)
        assert response is not None and response.status == 429
        await expect(fourth.get_by_role("heading", name="Too many open sessions")).to_be_visible()
        await expect(fourth.get_by_text("close a tab or retry in")).to_be_visible()
        await fourth.close()

        # closing a tab frees its slot: the waiting tab reloads into a kernel
        await first.close()
        await expect(waiting.get_by_text("knob is 0", exact=True)).to_be_visible()
        await turn_knob(waiting, 2, "knob is 2")
    finally:
        await alice.close()


async def test_marimo_iframes_render_under_x_frame_options_deny(
    browser: Browser, live: LiveServer
) -> None:
    """The site sends X-Frame-Options: DENY; mo.iframe frames ./@file/ of its own page.

    Notebook routes (downloads included) answer SAMEORIGIN whatever the
    site's policy, so that frame renders (docs/embedding.md, Framing policy).
    """
    context = await browser.new_context(base_url=live.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        problems = Problems(page, live.url)
        response = await page.goto("/frames/")
        assert response is not None and response.headers["x-frame-options"] == "SAMEORIGIN"
        assert response.headers["content-security-policy"] == "frame-ancestors 'self'"
        frame = page.frame_locator("iframe").first
        await expect(frame.get_by_text("inside the frame")).to_be_visible()
        assert problems.errors == []
    finally:
        await context.close()
