"""Admin-registered notebooks in a real browser (headless Chromium, live daphne).

A staff member (root) signs in to the admin, uploads a notebook through the
add form, restricted to the group ``sales``, follows the admin's "view" link
to its slug and moves its slider; alice, who is not in ``sales``, gets 404.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from devtools import admin_http
from devtools.browser import TIMEOUT_MS, Problems, chromium
from devtools.live import LiveServer, login
from devtools.users import PASSWORD
from tests.browser.test_directory_browser import NOTEBOOK

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser, live: LiveServer) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(base_url=live.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    await context.close()


async def sign_in_to_admin(page: Page, username: str) -> None:
    await page.goto("/admin/login/?next=/admin/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


async def test_staff_uploads_opens_and_drives_a_notebook(
    browser: Browser, context: BrowserContext, live: LiveServer, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:8]
    title, slug = f"Uploaded Doubler {token}", f"uploaded-doubler-{token}"
    source = tmp_path / "doubler.py"
    source.write_text(NOTEBOOK.format(title=title))

    page = await context.new_page()
    problems = Problems(page, live.url)
    await sign_in_to_admin(page, "root")

    # The add form, filled in as a person would.
    await page.goto("/admin/notebook_host/notebook/add/")
    await expect(page.get_by_text("runs on this server with the server's rights")).to_be_visible()
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Title").press("Tab")
    await expect(page.get_by_label("Slug")).to_have_value(slug)  # prepopulated
    await page.get_by_label("Uploaded file").set_input_files(source)
    await page.get_by_label("Access:", exact=True).select_option("login")
    await page.locator("#id_allowed_groups_from").select_option(label="sales")
    await page.locator("#id_allowed_groups_add").click()
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".messagelist .success")).to_contain_text("was added successfully")

    # The list's "view" link points at the live notebook; open it.
    row = page.locator("tr", has_text=slug)
    link = row.get_by_role("link", name="view", exact=True)
    await expect(link).to_have_attribute("href", f"/registered/{slug}/")
    response = await page.goto(f"/registered/{slug}/")
    assert response is not None and response.status == 200

    await expect(page.get_by_text("double is 10", exact=True)).to_be_visible()
    slider = page.get_by_role("slider")
    await expect(slider).to_have_attribute("aria-valuenow", "5")
    await slider.focus()
    await page.keyboard.press("ArrowRight")
    await expect(slider).to_have_attribute("aria-valuenow", "6")
    await expect(page.get_by_text("double is 12", exact=True)).to_be_visible()
    await page.close()
    assert problems.errors == []

    # alice is not in sales: 404, in a browser and over plain HTTP alike.
    outsider = await browser.new_context(base_url=live.url)
    try:
        alice = await outsider.new_page()
        await alice.goto("/accounts/login/")
        await alice.get_by_label("Username").fill("alice")
        await alice.get_by_label("Password").fill(PASSWORD)
        await alice.get_by_role("button", name="Sign in").click()
        await alice.wait_for_url(lambda url: "/accounts/login/" not in url)
        response = await alice.goto(f"/registered/{slug}/")
        assert response is not None and response.status == 404
        await expect(alice.get_by_text("There is no notebook at this address.")).to_be_visible()
    finally:
        await outsider.close()

    async with httpx.AsyncClient(base_url=live.url, timeout=30) as carol:
        await login(carol, "carol", PASSWORD)  # in sales
        assert (await carol.get(f"/registered/{slug}/")).status_code == 200
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as root:
        await login(root, "root", PASSWORD)
        [pk] = await admin_http.notebook_pks(root, slug)
        await admin_http.delete(root, pk)
