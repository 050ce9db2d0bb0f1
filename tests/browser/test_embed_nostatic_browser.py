"""``{% notebook %}`` frames size themselves with nothing serving ``/static/``.

A plain daphne of a site with no static file serving (tests/projects/nostatic),
DEBUG on and off, as the quick start's first server is: the host page's
sizing script must not be a static file. A frame whose host page lacks the
script says so and scrolls inside instead of being cut off silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, Page, expect

from devtools.live import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module", params=["1", "0"], ids=["debug", "nodebug"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = LiveServer(
        workdir=tmp_path_factory.mktemp("embed-nostatic"),
        settings="tests.projects.nostatic.settings",
        env={"DJANGO_DEBUG": request.param},
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


async def frame_height(page: Page, title: str) -> float:
    box = await page.locator(f"iframe[title='{title}']").bounding_box()
    assert box is not None
    return box["height"]


async def test_frames_size_themselves_without_static_files(
    context: BrowserContext, site: LiveServer
) -> None:
    page = await context.new_page()
    static: list[str] = []
    page.on("request", lambda r: static.append(r.url) if "/static/" in r.url else None)
    response = await page.goto(site.url + "/embed/host/")
    assert response is not None and response.status == 200
    grow = page.frame_locator("iframe[title='Growing']")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "2")
    await page.wait_for_function(
        "() => document.querySelector(\"iframe[title='Growing']\").style.height !== '150px'"
    )
    small = await frame_height(page, "Growing")

    slider = grow.get_by_role("slider")
    await slider.focus()
    await page.keyboard.press("End")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "30")
    await page.wait_for_function(
        "(small) => document.querySelector(\"iframe[title='Growing']\")"
        ".getBoundingClientRect().height > small + 400",
        arg=small,
    )
    # Sized by the host page's script: the frame shows no notice.
    await page.wait_for_timeout(500)
    assert await grow.locator("#notebook-host-unsized").count() == 0
    assert static == [], static  # nothing of the page or its frames came from /static/


async def test_a_frame_that_cannot_size_itself_says_so(
    context: BrowserContext, site: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(site.url + "/embed/bare/")
    frame = page.frame_locator("iframe[title='Bare']")
    await expect(frame.locator("#grown")).to_have_attribute("data-lines", "2")
    notice = frame.locator("#notebook-host-unsized")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("cannot follow the notebook's height")
    # It scrolls inside instead of hiding its overflow.
    overflow = await frame.locator("html").evaluate("e => getComputedStyle(e).overflowY")
    assert overflow == "auto"
    assert await frame_height(page, "Bare") == 150
