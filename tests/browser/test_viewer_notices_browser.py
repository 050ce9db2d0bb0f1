"""What a viewer is told instead of a blank page, in Chromium against a live daphne.

- a notebook importing a module the server lacks names the module on the
  page (and the log names notebook and module);
- a first run longer than about a second says which cell runs, on the page
  and in a frame, and the notice goes once the run is over;
- positive controls: a quick notebook with its modules shows neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, FrameLocator, Page, expect

from devtools.live import LiveServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

RUNNING = re.compile(r"Running cell [1-4] of 4")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(workdir=tmp_path_factory.mktemp("viewer-notices"))
    server.prepare()
    server.start()
    yield server
    server.stop()


async def test_a_missing_module_is_named(context: BrowserContext, site: LiveServer) -> None:
    page = await context.new_page()
    await page.goto(site.url + "/needsmodule/")
    alert = page.locator("#notebook-host-missing")
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("“notebook_host_no_such_module”")
    await expect(alert).not_to_contain_text("notebook_host_optional_module")  # guarded by try
    log = site.log()
    assert "needs_module.py imports 'notebook_host_no_such_module'" in log, log[-2000:]

    # Positive control: a notebook whose modules are all here says nothing.
    await page.goto(site.url + "/app1/")
    await expect(page.get_by_text("app1 says hi")).to_be_visible()
    assert await page.locator("#notebook-host-missing").count() == 0


async def assert_progress_then_output(where: Page | FrameLocator) -> None:
    progress = where.locator("#notebook-host-progress")
    await expect(progress).to_be_visible()
    await expect(progress).to_have_text(RUNNING)
    await expect(where.get_by_text("slow notebook done")).to_be_visible()
    await expect(progress).to_be_hidden()


async def test_a_long_first_run_says_it_is_running(
    context: BrowserContext, site: LiveServer
) -> None:
    page = await context.new_page()
    await page.goto(site.url + "/slow/")
    await assert_progress_then_output(page)

    # In a frame of a page of the site, as {% notebook %} renders it.
    await page.goto(site.url + "/plain/")
    await page.evaluate(
        """() => { document.body.innerHTML = '<iframe title="slow" style="height: 400px" '
             + 'class="notebook-host-frame" src="/slow/?nh-embed=fixed"></iframe>'; }"""
    )
    await assert_progress_then_output(page.frame_locator("iframe[title='slow']"))

    # Positive control: a quick first run shows no notice at all.
    quick = await context.new_page()
    await quick.add_init_script(
        """window.seenProgress = [];
           new MutationObserver(() => {
             const box = document.getElementById('notebook-host-progress');
             if (box && !box.hidden) window.seenProgress.push(box.textContent);
           }).observe(document, {subtree: true, childList: true, attributes: true});"""
    )
    await quick.goto(site.url + "/app1/")
    await expect(quick.get_by_text("app1 says hi")).to_be_visible()
    await quick.wait_for_timeout(1500)
    assert await quick.evaluate("() => window.seenProgress") == []
