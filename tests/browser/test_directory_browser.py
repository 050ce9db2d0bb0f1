"""notebook_directory() in a real browser: a notebook dropped in while serving.

After the session's live daphne (tests/conftest.py ``live``) has started, a new
notebook is written atomically into its ``apps/`` folder. Headless Chromium
finds it in the folder listing, opens it, sees its output and moves its
slider with the keyboard; once the file is deleted the URL answers 404.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from devtools.browser import TIMEOUT_MS, Problems, chromium
from devtools.live import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


NOTEBOOK = """import marimo

app = marimo.App(app_title="{title}")


@app.cell
def _():
    import marimo as mo
    return (mo,)


@app.cell
def _(mo):
    amount = mo.ui.slider(start=1, stop=20, value=5, label="Amount")
    amount
    return (amount,)


@app.cell
def _(amount, mo):
    mo.md(f"double is {{amount.value * 2}}")
    return


if __name__ == "__main__":
    app.run()
"""


@dataclass
class Fresh:
    """A notebook written into the live server's folder after it started."""

    name: str
    title: str
    file: Path

    @property
    def url_path(self) -> str:
        return f"/apps/{self.name}/"


@pytest.fixture
def fresh(live: LiveServer) -> Iterator[Fresh]:
    folder = Path(live.env["NOTEBOOK_HOST_TEST_APPS"])
    token = uuid.uuid4().hex[:8]
    name = f"fresh_{token}"
    notebook = Fresh(name=name, title=f"Fresh Doubler {token}", file=folder / f"{name}.py")
    # Atomically, as a deploy would: a "_" name is never served or listed.
    tmp = folder / f"_tmp_{token}.py"
    tmp.write_text(NOTEBOOK.format(title=notebook.title))
    os.replace(tmp, notebook.file)
    try:
        yield notebook
    finally:
        notebook.file.unlink(missing_ok=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def test_new_notebook_is_listed_served_and_interactive(
    browser: Browser, live: LiveServer, fresh: Fresh
) -> None:
    context = await browser.new_context(base_url=live.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        problems = Problems(page, live.url)

        # The folder listing already shows it, under its app title.
        response = await page.goto("/apps/")
        assert response is not None and response.status == 200
        link = page.get_by_role("link", name=fresh.title, exact=True)
        await expect(link).to_have_attribute("href", fresh.url_path)

        # Following the link opens the notebook and runs it.
        await link.click()
        await expect(page).to_have_url(live.url + fresh.url_path)
        await expect(page.get_by_text("double is 10", exact=True)).to_be_visible()
        slider = page.get_by_role("slider")
        await expect(slider).to_have_count(1)
        await expect(slider).to_have_attribute("aria-valuemin", "1")
        await expect(slider).to_have_attribute("aria-valuemax", "20")
        await expect(slider).to_have_attribute("aria-valuenow", "5")
        await expect(page.get_by_text("Amount", exact=True)).to_be_visible()

        # The keyboard moves the slider; the dependent cell re-runs.
        await slider.focus()
        await expect(slider).to_be_focused()
        await page.keyboard.press("ArrowRight")
        await expect(slider).to_have_attribute("aria-valuenow", "6")
        await expect(page.get_by_text("double is 12", exact=True)).to_be_visible()
        await expect(page.get_by_text("double is 10", exact=True)).to_have_count(0)

        await page.close()
        assert problems.errors == []
    finally:
        await context.close()

    # Deleted: the notebook is gone from its URL and from the listing.
    fresh.file.unlink()
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        assert (await client.get(fresh.url_path)).status_code == 404
        listing = await client.get("/apps/")
        assert listing.status_code == 200
        assert fresh.title not in listing.text
        assert fresh.url_path not in listing.text
