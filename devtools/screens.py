"""Screenshots of the dashboard on notebook_host and on plain marimo, compared pixel by pixel.

notebook_host claims to show a notebook exactly as marimo does; this checks it on
the pixels. bench/compare/ runs both servers (``make bench-screens`` only this
phase) and calls ``compare_dashboard``: notebooks/dashboard.py is captured at
/dashboard/ on each in the same headless Chromium (1280x900 viewport, full page),
and the two PNGs are compared; ``<name>.png`` for each target and diff.png are
written when asked.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops

from devtools.client import DASHBOARD

#: The viewport of every capture; the full page is saved, so this sets the width.
VIEWPORT = {"width": 1280, "height": 900}
PAGE_TIMEOUT_MS = 60_000

#: The dashboard's outputs are shown: ``svg#chart`` laid out and visible, and the
#: "**N points**" text (a ``<strong>``) in the page, as bench/compare/'s PROBE
#: waits for them.
DASHBOARD_READY = r"""(() => {
  const chart = document.querySelector("svg#chart");
  if (!chart || !chart.isConnected) return false;
  const box = chart.getBoundingClientRect();
  if (!(box.width > 0 && box.height > 0)) return false;
  if (chart.checkVisibility && !chart.checkVisibility()) return false;
  for (const el of document.getElementsByTagName("strong"))
    if (/^\d+ points$/.test(el.textContent.trim())) return true;
  return false;
})()"""

# Fonts loaded and two frames painted after the outputs arrive: the first frame
# lays them out, the second is one in which nothing moved in between.
SETTLE = """() => document.fonts.ready.then(() => new Promise((resolve) =>
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)))))"""


async def capture(context: Any, url: str, ready_js: str, path: Path | None = None) -> bytes:
    """A full-page PNG of ``url`` once ``ready_js`` holds and the page has settled.

    The caller's context fixes the viewport and carries the cookies, so both
    servers are shot under the same conditions. CSS animations are finished
    and the caret hidden: they are timing, not what the page shows.
    """
    page = await context.new_page()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
        await page.wait_for_function(ready_js, timeout=PAGE_TIMEOUT_MS)
        await page.evaluate(SETTLE)
        png = await page.screenshot(full_page=True, animations="disabled", caret="hide")
    finally:
        await page.close()
    if path is not None:
        path.write_bytes(png)
    return png


def pixel_difference(a: bytes, b: bytes, diff_path: Path | None = None) -> dict[str, Any]:
    """How far two PNGs differ: pixel count, share and largest channel step.

    A pixel differs when any of its RGBA channels does. Images of different
    sizes are compared over their common top-left area (``compared`` says so),
    since a page that grew a few pixels would otherwise hide where it differs.
    With ``diff_path`` a diff image is written there: differing pixels in red
    over a faded grey copy of ``a``.
    """
    image_a = Image.open(io.BytesIO(a)).convert("RGBA")
    image_b = Image.open(io.BytesIO(b)).convert("RGBA")
    same_size = image_a.size == image_b.size
    width = min(image_a.width, image_b.width)
    height = min(image_a.height, image_b.height)
    box = (0, 0, width, height)
    area_a, area_b = image_a.crop(box), image_b.crop(box)
    # Per pixel, the largest difference over its channels (an "L" image).
    bands = ImageChops.difference(area_a, area_b).split()
    delta = bands[0]
    for band in bands[1:]:
        delta = ImageChops.lighter(delta, band)
    histogram = delta.histogram()
    differing = width * height - histogram[0]
    max_delta = max((value for value, count in enumerate(histogram) if count), default=0)
    if diff_path is not None:
        faded = Image.blend(
            area_a.convert("L").convert("RGB"), Image.new("RGB", (width, height), "white"), 0.7
        )
        faded.paste((255, 0, 0), mask=delta.point(lambda v: 255 if v else 0))
        faded.save(diff_path)
    return {
        "width": width,
        "height": height,
        "same_size": same_size,
        "size_a": list(image_a.size),
        "size_b": list(image_b.size),
        "compared": "whole images" if same_size else f"common top-left {width}x{height}",
        "differing_pixels": differing,
        "differing_share": differing / (width * height) if width * height else 0.0,
        "max_channel_delta": max_delta,
    }


async def new_context(browser: Any, url: str, cookies: dict[str, str]) -> Any:
    """A fresh context at the capture viewport, carrying ``cookies`` for ``url``."""
    context = await browser.new_context(viewport=VIEWPORT)
    if cookies:
        await context.add_cookies([{"name": k, "value": v, "url": url} for k, v in cookies.items()])
    return context


async def capture_dashboards(
    browser: Any, targets: dict[str, Any], out: Path | None = None
) -> dict[str, bytes]:
    """The dashboard's PNG on each target (``<name>.png`` in ``out`` if given).

    ``browser`` is a Playwright browser or bench.compare.page_load.Browser (its
    ``.browser`` is used, without compare's PROBE script). Each target gets its
    own context: no cache or cookie of one leaks into the other's page.
    """
    playwright_browser = getattr(browser, "browser", browser)
    shots: dict[str, bytes] = {}
    for name, target in targets.items():
        context = await new_context(playwright_browser, target.url, target.cookies)
        try:
            path = out / f"{name}.png" if out is not None else None
            shots[name] = await capture(context, target.url + DASHBOARD, DASHBOARD_READY, path)
        finally:
            await context.close()
    return shots


async def compare_dashboard(
    browser: Any, targets: dict[str, Any], out: Path | None = None
) -> dict[str, Any]:
    """Pixel difference of the dashboard between two targets (first is ``a``).

    ``targets`` maps a name to a devtools.targets.Target (``.url``, ``.cookies``).
    The result is JSON-ready (no PNG bytes); with ``out`` the PNGs and
    diff.png are written there.
    """
    if len(targets) != 2:
        raise ValueError(f"compare_dashboard needs two targets, got {list(targets)}")
    shots = await capture_dashboards(browser, targets, out)
    (name_a, png_a), (name_b, png_b) = shots.items()
    diff_path = out / "diff.png" if out is not None else None
    return {"a": name_a, "b": name_b, **pixel_difference(png_a, png_b, diff_path)}
