"""The demo project in a real browser: headless Chromium against a live daphne.

Signs in through Django's login page, drives the demo notebooks
(notebooks/dashboard.py, notebooks/whoami.py, notebooks/index.py) the way a
person would, and checks that signed-out visitors are sent to the login page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    expect,
)

from devtools.browser import TIMEOUT_MS, Problems
from devtools.live import LiveServer
from devtools.users import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser, demo: LiveServer) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile: no cookies, nobody signed in."""
    context = await browser.new_context(base_url=demo.url)
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext, demo: LiveServer) -> AsyncIterator[Page]:
    """A page that must see no uncaught errors and no failed requests."""
    page = await context.new_page()
    problems = Problems(page, demo.url)
    yield page
    assert problems.errors == []


async def sign_in(page: Page, username: str, password: str) -> None:
    """Fill in and submit Django's login form (the page must be showing it)."""
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


@pytest_asyncio.fixture(loop_scope="module")
async def alice(page: Page, demo: LiveServer) -> Page:
    """``page``, signed in as alice through the login page."""
    await page.goto("/accounts/login/")
    await sign_in(page, "alice", PASSWORD)
    await expect(page).to_have_url(url(demo, "/"))  # LOGIN_REDIRECT_URL
    return page


def url(demo: LiveServer, path: str) -> str:
    return demo.url + path


async def test_signed_out_visitor_is_sent_to_login(page: Page, demo: LiveServer) -> None:
    response = await page.goto("/dashboard/")
    assert response is not None and response.ok
    await expect(page).to_have_url(url(demo, "/accounts/login/?next=/dashboard/"))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.locator("svg#chart")).to_have_count(0)

    # Signing in from there goes on to the notebook that was asked for.
    await sign_in(page, "alice", PASSWORD)
    await expect(page).to_have_url(url(demo, "/dashboard/"))
    await expect(page.locator("svg#chart")).to_be_visible()


async def test_whoami_signed_out_is_sent_to_login(page: Page, demo: LiveServer) -> None:
    await page.goto("/whoami/")
    await expect(page).to_have_url(url(demo, "/accounts/login/?next=/whoami/"))
    await expect(page.get_by_text("Hello,")).to_have_count(0)


async def test_wrong_password_stays_on_login(page: Page, demo: LiveServer) -> None:
    await page.goto("/accounts/login/?next=/dashboard/")
    await sign_in(page, "alice", "not-the-password")
    await expect(page.get_by_text("Your username and password didn't match.")).to_be_visible()
    await page.goto("/dashboard/")
    await expect(page).to_have_url(url(demo, "/accounts/login/?next=/dashboard/"))


async def test_sign_in_lands_on_index_notebook(alice: Page, demo: LiveServer) -> None:
    await expect(alice).to_have_url(url(demo, "/"))
    await expect(alice.get_by_role("heading", name="notebook_host demo")).to_be_visible()
    await expect(alice.get_by_text("Signed in as alice.")).to_be_visible()


async def test_dashboard_shows_every_output(alice: Page, demo: LiveServer) -> None:
    await alice.goto("/dashboard/")
    await expect(alice).to_have_url(url(demo, "/dashboard/"))
    await expect(alice.get_by_role("heading", name="Dashboard")).to_be_visible()

    slider = alice.get_by_role("slider")
    await expect(slider).to_be_visible()
    await expect(slider).to_have_attribute("aria-valuemin", "1")
    await expect(slider).to_have_attribute("aria-valuemax", "40")
    await expect(slider).to_have_attribute("aria-valuenow", "10")
    await expect(alice.get_by_text("Points", exact=True)).to_be_visible()

    await expect(alice.get_by_text("10 points", exact=True)).to_be_visible()
    chart = alice.locator("svg#chart")
    await expect(chart).to_be_visible()
    await expect(chart).to_have_attribute("data-points", "10")
    await expect(chart.locator("rect")).to_have_count(10)


async def test_slider_keyboard_updates_dependent_output(alice: Page) -> None:
    await alice.goto("/dashboard/")
    slider = alice.get_by_role("slider")
    chart = alice.locator("svg#chart")
    await expect(slider).to_have_attribute("aria-valuenow", "10")
    await expect(chart).to_have_attribute("data-points", "10")

    await slider.focus()
    await expect(slider).to_be_focused()
    await alice.keyboard.press("ArrowRight")
    await expect(slider).to_have_attribute("aria-valuenow", "11")
    await expect(alice.get_by_text("11 points", exact=True)).to_be_visible()
    await expect(chart).to_have_attribute("data-points", "11")
    await expect(chart.locator("rect")).to_have_count(11)
    await expect(alice.get_by_text("10 points", exact=True)).to_have_count(0)

    await alice.keyboard.press("ArrowLeft")
    await alice.keyboard.press("ArrowLeft")
    await expect(slider).to_have_attribute("aria-valuenow", "9")
    await expect(alice.get_by_text("9 points", exact=True)).to_be_visible()
    await expect(chart).to_have_attribute("data-points", "9")
    await expect(chart.locator("rect")).to_have_count(9)


async def test_whoami_shows_the_signed_in_user(alice: Page, demo: LiveServer) -> None:
    await alice.goto("/whoami/")
    await expect(alice).to_have_url(url(demo, "/whoami/"))
    await expect(alice.get_by_role("heading", name="Hello, Alice Tester!")).to_be_visible()
    await expect(alice.get_by_text("Username: alice")).to_be_visible()
    await expect(alice.get_by_text("groups: analysts")).to_be_visible()
    await expect(alice.get_by_text("You opened /whoami/.")).to_be_visible()


async def test_items_filters_by_its_validated_parameters(alice: Page, demo: LiveServer) -> None:
    await alice.goto("/items/?tags=red&tags=blue&limit=5")
    await expect(alice).to_have_url(
        url(demo, "/items/?limit=5&offset=0&order_by=created_at&tags=red&tags=blue")
    )
    await expect(alice.get_by_text("tags=['red', 'blue']")).to_be_visible()
    await expect(alice.get_by_text("5 shown")).to_be_visible()
