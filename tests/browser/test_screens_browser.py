"""The product's dashboard page shows the same pixels as plain marimo's.

notebook_host serves a notebook through Django but must not change how marimo
draws it. notebooks/dashboard.py is captured at /dashboard/ on the demo (daphne,
alice signed in) and on plain marimo (devtools/plain_marimo.py under uvicorn) in
the same headless Chromium, and the two PNGs are compared (devtools/screens.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser

from devtools.live import LiveServer, login
from devtools.screens import compare_dashboard
from devtools.targets import PlainMarimo, Target
from devtools.users import PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Measured: 0 differing pixels (max channel delta 0) on a 1280x900 page, with the
# demo as deployed (devtools.screens, DEBUG off, collectstatic) and as here (DEBUG
# on). Chromium rasterises in software (--disable-gpu), so equal pages give equal
# bytes; the margin, 0.05 % (576 of 1,152,000 pixels), only absorbs antialiasing
# noise on a few glyph edges, should one ever appear. What the product could get
# wrong is far larger: a banner or a missing stylesheet or font changes tens of
# thousands of pixels, and marimo's #root moved 1 px to the right changed 4,814
# (0.42 %, measured), every edge of the heading, slider, text and chart. It is
# not meant to catch a changed digit (~50 pixels): the notebook and its kernel
# are the same on both, the product only serves the page around them.
MAX_DIFFERING_SHARE = 0.0005


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo under daphne (as the browser conftest's ``demo``), stopped even if it
    fails to start."""
    server = LiveServer(
        workdir=tmp_path_factory.mktemp("screens-product"),
        settings="project.settings",
        ready_path="/accounts/login/",
    )
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlainMarimo]:
    """Plain marimo serving the same notebook at /dashboard/, stopped even on failure."""
    server = PlainMarimo(tmp_path_factory.mktemp("screens-plain"))
    server.launch()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


async def test_dashboard_pixels_match_plain_marimo(
    browser: Browser, product: LiveServer, plain: PlainMarimo, tmp_path: Path
) -> None:
    assert product.proc is not None and plain.proc is not None
    async with httpx.AsyncClient(base_url=product.url, timeout=30) as client:
        await login(client, "alice", PASSWORD)
        cookies = dict(client.cookies.items())
    targets = {
        "product": Target("notebook_host", product.port, product.proc.pid, cookies=cookies),
        "plain": Target("plain_marimo", plain.port, plain.proc.pid),
    }
    result = await compare_dashboard(browser, targets, out=tmp_path)
    where = f"{result}; images in {tmp_path}"
    assert result["same_size"], where
    assert result["size_a"] == [1280, 900], where  # the full page: the viewport, nothing below it
    assert result["differing_share"] < MAX_DIFFERING_SHARE, where
