"""``{% notebook %}`` frames in headless Chromium against live daphnes.

- the demo's /report/ (project/templates/report.html) as alice and as bob;
- the test project's /embed/host/: a frame growing and shrinking with its
  output, fake height messages that must be ignored;
- framing from other origins: a page served by a plain HTTP server on
  another port (listed in FRAME_ANCESTORS, then reached as localhost, which
  is not) and the test project reached as localhost framing 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    expect,
)

from devtools.browser import Problems
from devtools.live import LiveServer, free_port
from devtools.users import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")

EMBED_JS = (
    Path(__file__).parents[2] / "notebook_host" / "static" / "notebook_host" / "embed.js"
).read_text()


class ForeignSite:
    """Another origin: a plain HTTP server whose page frames ``?src=``."""

    def __init__(self) -> None:
        self.port = free_port()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # a page framing what ?src= names
                src = self.path.partition("?src=")[2]
                body = (
                    "<!doctype html><html><head><title>foreign</title></head><body>"
                    "<script>window.received = [];"
                    "addEventListener('message', e => received.push([e.origin, e.data]));"
                    "</script>"
                    f'<iframe class="notebook-host-frame" data-notebook-height="auto" '
                    f'title="foreign" src="{src}" style="height: 150px"></iframe>'
                    f"<script>{EMBED_JS}</script></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str, src: str) -> str:
        return f"http://{host}:{self.port}/?src={src}"


@pytest.fixture(scope="module")
def foreign() -> Iterator[ForeignSite]:
    site = ForeignSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, foreign: ForeignSite) -> Iterator[LiveServer]:
    """The test project; the foreign page's 127.0.0.1 origin may frame it."""
    server = LiveServer(
        workdir=tmp_path_factory.mktemp("embed-site"),
        env={"NOTEBOOK_HOST_TEST_FRAME_ANCESTORS": f"http://127.0.0.1:{foreign.port}"},
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


async def signed_in(context: BrowserContext, demo: LiveServer, username: str) -> Page:
    """A page signed in as ``username``.

    A second try when the demo's SQLite answered "database is locked": the
    previous test's framed kernels write their LiveSession rows as they
    close, and a deferred SQLite transaction that must upgrade fails at once.
    """
    page = await context.new_page()
    for attempt in range(2):
        await page.goto(demo.url + "/accounts/login/")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()
        if page.url == demo.url + "/" or attempt == 1:
            break
        assert "database is locked" in await page.content(), page.url
        await page.wait_for_timeout(1000)
    await expect(page).to_have_url(demo.url + "/")
    return page


async def frame_geometry(page: Page, title: str) -> dict[str, float]:
    """The frame's height and the scroll sizes inside it (same origin: readable)."""
    return await page.evaluate(
        """(title) => {
          const frame = [...document.querySelectorAll('iframe.notebook-host-frame')]
            .find(f => f.title === title);
          const doc = frame.contentDocument;
          const app = doc.getElementById('App');
          // The content's own height, measured independently of the frame script.
          let content = -1;
          if (app && app.firstElementChild) {
            const top = app.firstElementChild.getBoundingClientRect().top;
            content = app.lastElementChild.getBoundingClientRect().bottom - top;
          }
          return {
            height: frame.getBoundingClientRect().height,
            content: Math.ceil(content),
            docScroll: doc.documentElement.scrollHeight,
            docClient: doc.documentElement.clientHeight,
            appScroll: app ? app.scrollHeight : -1,
            appClient: app ? app.clientHeight : -1,
          };
        }""",
        title,
    )


async def auto_sized(page: Page, title: str) -> dict[str, float]:
    """The geometry of an auto frame once it took its content's height and settled."""
    await page.wait_for_function(
        "(title) => [...document.querySelectorAll('iframe.notebook-host-frame')]"
        ".find(f => f.title === title).style.height !== '150px'",
        arg=title,
    )
    return await settled(page, title)


def assert_no_inner_scrollbar(geometry: dict[str, float]) -> None:
    assert geometry["docScroll"] <= geometry["docClient"], geometry
    assert geometry["appScroll"] <= geometry["appClient"] + 1, geometry
    assert abs(geometry["appClient"] - geometry["height"]) <= 1, geometry
    assert abs(geometry["content"] - geometry["height"]) <= 1, geometry  # sized to content


async def test_report_page_as_alice(context: BrowserContext, demo: LiveServer) -> None:
    page = await signed_in(context, demo, "alice")
    problems = Problems(page, demo.url)
    api: list[Response] = []
    page.on("response", lambda r: api.append(r) if "/api/kernel/" in r.url else None)
    response = await page.goto(demo.url + "/report/")
    assert response is not None and response.status == 200
    assert response.headers["x-frame-options"] == "DENY"  # the site's own page
    await expect(page.get_by_role("navigation", name="Site")).to_be_visible()

    frames = page.locator("iframe.notebook-host-frame")
    await expect(frames).to_have_count(3)  # no staff notebook for alice
    assert [await f.get_attribute("title") for f in await frames.all()] == [
        "Dashboard",
        "Red items",
        "Recently updated items",
    ]
    await expect(page.get_by_text("For staff")).to_have_count(0)
    assert await page.locator("script[data-notebook-host-embed]").count() == 1

    dashboard = page.frame_locator("iframe[title='Dashboard']")
    await expect(dashboard.get_by_text("10 points", exact=True)).to_be_visible()
    # marimo's page menu is hidden in embedded mode.
    await expect(dashboard.locator("[data-testid='notebook-actions-dropdown']")).to_be_hidden()
    slider = dashboard.get_by_role("slider")
    await slider.focus()
    await page.keyboard.press("ArrowRight")
    await expect(dashboard.get_by_text("11 points", exact=True)).to_be_visible()
    await expect(dashboard.locator("svg#chart")).to_have_attribute("data-points", "11")

    # The same notebook twice, each frame its own kernel with its own query.
    red = page.frame_locator("iframe[title='Red items']")
    recent = page.frame_locator("iframe[title='Recently updated items']")
    await expect(red.get_by_text("limit=3")).to_be_visible()
    await expect(red.get_by_text("3 shown")).to_be_visible()
    await expect(recent.get_by_text("order_by=updated_at")).to_be_visible()
    await expect(recent.get_by_text("6 shown")).to_be_visible()

    for title in ("Dashboard", "Red items", "Recently updated items"):
        geometry = await auto_sized(page, title)
        assert geometry["height"] > 150, (title, geometry)
        assert_no_inner_scrollbar(geometry)

    assert api, "the slider made no kernel API call"
    for answer in api:
        assert answer.headers["x-frame-options"] == "SAMEORIGIN", answer.url
        assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
    assert problems.errors == []


async def test_report_page_as_bob_shows_the_staff_notebook(
    context: BrowserContext, demo: LiveServer
) -> None:
    page = await signed_in(context, demo, "bob")
    await page.goto(demo.url + "/report/")
    await expect(page.locator("iframe.notebook-host-frame")).to_have_count(4)
    await expect(page.get_by_role("heading", name="For staff: the code behind it")).to_be_visible()
    code = page.frame_locator("iframe[title='Code']")
    await expect(code.get_by_role("heading", name="Served with its code")).to_be_visible()


async def test_report_page_signed_out_offers_sign_in(
    context: BrowserContext, demo: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(demo.url + "/report/")
    await expect(page.locator("iframe")).to_have_count(0)
    link = page.get_by_role("link", name="Sign in to see Dashboard")
    await expect(link).to_have_attribute("href", "/accounts/login/?next=/report/")
    await link.click()
    await page.get_by_label("Username").fill("alice")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(demo.url + "/report/")
    await expect(page.locator("iframe.notebook-host-frame")).to_have_count(3)


async def test_frame_grows_and_shrinks_with_its_output(
    context: BrowserContext, site: LiveServer
) -> None:
    page = await context.new_page()
    problems = Problems(page, site.url)
    await page.goto(site.url + "/embed/host/")
    grow = page.frame_locator("iframe[title='Growing']")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "2")
    small = await auto_sized(page, "Growing")
    assert_no_inner_scrollbar(small)

    slider = grow.get_by_role("slider")
    await slider.focus()
    await page.keyboard.press("End")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "30")
    tall = await settled(page, "Growing", lambda g: g["height"] > small["height"] + 400)
    assert_no_inner_scrollbar(tall)

    await page.keyboard.press("Home")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "1")
    short = await settled(page, "Growing", lambda g: g["height"] < small["height"])
    assert_no_inner_scrollbar(short)

    # A fixed frame keeps its height (and scrolls inside if it must).
    fixed = page.locator("iframe[title='Fixed app']")
    await expect(fixed.content_frame.get_by_text("app1 says hi")).to_be_visible()
    assert (await fixed.bounding_box())["height"] == 240
    assert problems.errors == []


async def settled(
    page: Page, title: str, condition: Callable[[dict[str, float]], bool] = lambda g: True
) -> dict[str, float]:
    """The frame's geometry once ``condition`` holds and the height stopped moving."""
    previous: dict[str, float] | None = None
    for _ in range(100):
        geometry = await frame_geometry(page, title)
        if condition(geometry) and previous is not None and previous == geometry:
            return geometry
        previous = geometry
        await page.wait_for_timeout(150)
    raise AssertionError(f"{title} never settled: {previous}")


async def test_messages_from_elsewhere_are_ignored(
    context: BrowserContext, site: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(site.url + "/embed/host/")
    grow = page.frame_locator("iframe[title='Growing']")
    await expect(grow.locator("#grown")).to_have_attribute("data-lines", "2")
    await auto_sized(page, "Growing")
    fake = "({type: 'notebook_host:height', height: 7})"
    await page.evaluate(f"() => window.postMessage({fake}, '*')")  # not a frame
    plain = page.frame(url="about:srcdoc")
    assert plain is not None
    await plain.evaluate(f"() => parent.postMessage({fake}, '*')")  # not a notebook frame
    fixed = page.locator("iframe[title='Fixed app']")
    await expect(fixed.content_frame.get_by_text("app1 says hi")).to_be_visible()
    fixed_frame = await (await fixed.element_handle()).content_frame()
    await fixed_frame.evaluate(f"() => parent.postMessage({fake}, '*')")  # a fixed frame
    await page.wait_for_timeout(500)
    after = await settled(page, "Growing")
    assert after["height"] != 7, after
    assert_no_inner_scrollbar(after)  # still its content's height, not the fake one
    assert (await fixed.bounding_box())["height"] == 240


async def test_other_origins_cannot_frame_notebooks(
    context: BrowserContext, site: LiveServer, foreign: ForeignSite
) -> None:
    target = f"http://127.0.0.1:{site.port}/app1/?nh-embed=auto"

    # Listed in FRAME_ANCESTORS: framed, and its height messages are ignored
    # by embed.js there (not the site's own origin).
    allowed = await context.new_page()
    await allowed.goto(foreign.url("127.0.0.1", target))
    frame = allowed.frame_locator("iframe")
    await expect(frame.get_by_text("app1 says hi")).to_be_visible()
    await allowed.wait_for_function(
        "() => window.received.some(([o, d]) => d && d.type === 'notebook_host:height')"
    )
    origins = await allowed.evaluate("() => window.received.map(([o]) => o)")
    assert set(origins) == {site.url}
    assert await allowed.locator("iframe").evaluate("f => f.style.height") == "150px"

    # The same page from an origin not listed, and the site itself as another host.
    for page_url in (
        foreign.url("localhost", target),
        f"http://localhost:{site.port}/embed/foreign/?src={target}",
    ):
        page = await context.new_page()
        refusals: list[str] = []

        def refused(message: ConsoleMessage, seen: list[str] = refusals) -> None:
            if "frame-ancestors" in message.text:
                seen.append(message.text)

        page.on("console", refused)
        await page.goto(page_url)
        await page.wait_for_function("() => document.readyState === 'complete'")
        for _ in range(50):
            if refusals:
                break
            await page.wait_for_timeout(200)
        assert refusals, "the browser did not report a frame-ancestors refusal"
        child = page.main_frame.child_frames[0]
        assert not child.url.startswith(site.url), child.url
        assert await page.frame_locator("iframe").get_by_text("app1 says hi").count() == 0
        await page.close()
