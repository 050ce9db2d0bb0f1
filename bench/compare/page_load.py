"""The ``page_load`` job: headless Chromium with a probe in every page, cold and warm loads."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from typing import Any

from bench.compare.plan import CHROMIUM_ARGS, Plan
from devtools.browser import CHROMIUM
from devtools.client import (
    DASHBOARD,
)
from devtools.targets import Target

# --------------------------------------------------------------------------- browser

# Installed in every page before its own scripts. It records, in the page's
# clock (performance.now(), 0 = navigation start):
# - done.dom: when the notebook's outputs were first in the DOM and laid out
#   (dashboard: svg#chart with a non-empty box and the "N points" text;
#   whoami: the "Hello, ..." heading), seen by a MutationObserver; done.paint:
#   the task after the next animation frame (the frame that shows them);
# - changes: every change of the "N points" text, with the timeStamp of the
#   keydown that preceded it.
PROBE = r"""
(() => {
  if (window.__bench) return;
  try { performance.setResourceTimingBufferSize(10000); } catch (e) {}
  const bench = (window.__bench = { done: null, dom: null, text: null, changes: [], key: null });
  const whoami = location.pathname.includes("whoami");
  const pointsText = () => {
    for (const el of document.getElementsByTagName("strong")) {
      const t = el.textContent.trim();
      if (/^\d+ points$/.test(t)) return t;
    }
    return null;
  };
  const shown = (el) => {
    if (!el || !el.isConnected) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && (!el.checkVisibility || el.checkVisibility());
  };
  const ready = () => {
    if (whoami) {
      for (const h of document.getElementsByTagName("h1"))
        if (h.textContent.trim().startsWith("Hello,") && shown(h)) return true;
      return false;
    }
    return shown(document.querySelector("svg#chart")) && pointsText() !== null;
  };
  const resources = () => {
    const out = { entries: 0, transfer: 0, encoded: 0, decoded: 0, from_cache: 0 };
    const entries = performance.getEntriesByType("navigation")
      .concat(performance.getEntriesByType("resource"));
    for (const e of entries) {
      out.entries++;
      out.transfer += e.transferSize || 0;
      out.encoded += e.encodedBodySize || 0;
      out.decoded += e.decodedBodySize || 0;
      if (!e.transferSize && e.decodedBodySize) out.from_cache++;
    }
    const nav = performance.getEntriesByType("navigation")[0];
    if (nav) {
      out.response_start = nav.responseStart;
      out.dom_content_loaded = nav.domContentLoadedEventEnd;
    }
    return out;
  };
  const check = () => {
    const now = performance.now();
    if (bench.dom === null && ready()) {
      bench.dom = now;
      requestAnimationFrame(() => setTimeout(() => {
        bench.done = { dom: bench.dom, paint: performance.now(), resources: resources() };
      }, 0));
    }
    if (!whoami) {
      const t = pointsText();
      if (t !== null && t !== bench.text) {
        if (bench.text !== null) bench.changes.push({ t: now, key: bench.key, to: t });
        bench.text = t;
      }
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
  window.addEventListener("keydown", (e) => { bench.key = e.timeStamp; }, true);
})();
"""


class Browser:
    """Headless Debian Chromium through Playwright (never `playwright install`)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._playwright: Any = None
        self.browser: Any = None

    async def __aenter__(self) -> Browser:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self.browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.browser.close()
        with contextlib.suppress(Exception):
            await self._playwright.stop()

    @property
    def version(self) -> str:
        return self.browser.version

    async def context(self, target: Target) -> Any:
        """A fresh context (own cookies and HTTP cache) carrying the target's cookies."""
        context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(self.plan.page_timeout * 1000)
        if target.cookies:
            await context.add_cookies(
                [{"name": k, "value": v, "url": target.url} for k, v in target.cookies.items()]
            )
        await context.add_init_script(script=PROBE)
        return context

    async def load(
        self, context: Any, target: Target, path: str, before: Callable | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Open ``path`` in a new page; wait until its outputs are shown."""
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)[:200]))
        if before is not None:
            await before(page)
        await page.goto(target.url + path, wait_until="commit")
        handle = await page.wait_for_function(
            "() => window.__bench && window.__bench.done",
            timeout=self.plan.page_timeout * 1000,
        )
        done = await handle.json_value()
        done["page_errors"] = errors
        return page, done


async def page_loads(browser: Browser, target: Target, plan: Plan) -> dict:
    """Cold then warm loads of the dashboard, ``plan.loads`` times, each in a new context."""
    loads: dict[str, list] = {"cold": [], "warm": []}
    for _ in range(plan.loads):
        context = await browser.context(target)
        try:
            for kind in ("cold", "warm"):
                page, done = await browser.load(context, target, DASHBOARD)
                loads[kind].append(done)
                await page.close()
        finally:
            await context.close()
    out = {}
    for kind, done in loads.items():
        dom = [d["dom"] for d in done]
        out[kind] = {
            "median_ms": round(statistics.median(dom), 1),
            "paint_median_ms": round(statistics.median(d["paint"] for d in done), 1),
            "dom_ms": [round(v, 1) for v in dom],
            "response_start_ms": [round(d["resources"]["response_start"], 1) for d in done],
            "dom_content_loaded_ms": [round(d["resources"]["dom_content_loaded"], 1) for d in done],
            "resource_entries": [d["resources"]["entries"] for d in done],
            "resource_transfer_bytes": [d["resources"]["transfer"] for d in done],
            "page_errors": sum(len(d["page_errors"]) for d in done),
        }
    return out
