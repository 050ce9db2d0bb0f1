"""notebook_host against plain marimo, side by side, on this machine.

    python -m bench.compare [--tiny] [--out DIR] [--production-static]
                            [--runs N] [--only PHASE,...] [--profile]

Starts, once, (a) the demo project under daphne (bench/compare_settings.py:
project.settings without its per-user session limit, since alice opens up to
100 sessions), as devtools.live.LiveServer does, signed in as alice (sign-in
is not measured), and (b) plain marimo, ``marimo.create_asgi_app()`` with the
same notebooks (devtools/plain_marimo.py) under uvicorn. Both serve
notebooks/dashboard.py at /dashboard/ and notebooks/whoami.py at /whoami/ on
127.0.0.1. Then, ``runs`` times (3), every figure of notebook_host, then every
figure of plain marimo (A B A B A B); each figure is the median of the runs,
with the spread. The figures (phases):

- ``page_load``: headless Chromium, navigation start until the dashboard's
  outputs are in the page and laid out (``svg#chart`` visible, its "N points"
  text shown): cold (fresh context, empty cache) and warm (second load in the
  same context); median of ``loads``;
- ``bytes``: a cold load of the dashboard, CDP ``Network.loadingFinished``
  encodedDataLength (wire bytes with headers) until the network is quiet, then
  whoami in the same context;
- ``slider``: the slider focused, ArrowRight/ArrowLeft alternately, from the
  keydown until the "N points" text changes (the page's clock); p50/p95, and a
  CDP trace of each move (:class:`SliderTrace`: key -> POST sent -> response,
  -> the socket frame with the new text -> DOM);
- ``post``: a protocol-level client (httpx + websockets), one session: change
  latency (POST sent -> dependent output frame) and the POST round trip alone;
- ``concurrency``: N sessions at once (100): each GETs the page, opens its
  socket and waits for the kernel's first outputs (session start), then, once
  all are up, makes widget changes; success rate, change p50/p95, changes/s,
  RSS per session from /proc;
- ``screens``: the dashboard on both, pixel by pixel (devtools/screens.py), once.

Whatever the demo serves at run time is measured (asset URLs are not assumed):
by default as ``make serve`` runs it (DEBUG on, marimo's frontend served from
the finders); ``--production-static`` (``make bench``) runs it as the README
deploys it: DJANGO_DEBUG=0 after ``collectstatic``, served before Django by
``serve_collected_static``. Prints a table and the issue's targets (met or
missed), writes bench/results/<date>[-production-static][-tiny].json and a PNG
(latency distributions, the targets' ratios per run). ``--tiny`` is a smoke run
for the test suite; every loop is bounded in count and time (Plan).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import spy
from devtools import screens
from devtools.client import (
    DASHBOARD,
    PASSWORD,
    SLIDER_LABEL,
    api_headers,
    kernel_socket,
    marker,
    new_session_id,
    next_value,
    set_value,
)
from bench.procfs import OtherLoad, cpu_seconds, proc_status, process_tree, rss_kb
from bench.stats import percentile, summary
from devtools.browser import CHROMIUM
from devtools.browser import CHROMIUM_ARGS as TEST_CHROMIUM_ARGS
from devtools.live import (
    ROOT,
    LiveServer,
    free_port,
    login,
    read_log,
    server_token,
    stop_process,
    wait_ready,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Where the screenshots go (ignored by git): <server>.png for each, and diff.png.
SCREENS_DIR = RESULTS_DIR.parent.parent / "build" / "screens"


WHOAMI = "/whoami/"
HOST = "notebook_host"
PLAIN = "plain_marimo"
SERVERS = (HOST, PLAIN)

# The browser tests' Debian Chromium and flags (devtools/browser.py), and every
# request kept on the loopback: names other than localhost do not resolve (the
# servers are addressed as 127.0.0.1).
CHROMIUM_ARGS = [
    *TEST_CHROMIUM_ARGS,
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


@dataclass(frozen=True)
class Plan:
    """How much to measure; every loop below is bounded by these counts."""

    runs: int = 3  # interleaved runs of every figure (A B A B A B)
    loads: int = 5  # (cold, warm) dashboard loads per server and run
    slider_moves: int = 40
    posts: int = 60
    post_warmup: int = 5
    sessions: tuple[int, ...] = (100,)
    changes: int = 20  # widget changes per concurrent session
    profile: bool = False  # py-spy on each server during the slider phase
    # time bounds (seconds)
    page_timeout: float = 60
    change_timeout: float = 30
    round_timeout: float = 240


# Other processes using this share of one core during a phase earn a warning.
OTHER_LOAD_WARNING = 10.0

FULL = Plan()
TINY = Plan(runs=2, loads=1, slider_moves=3, posts=3, post_warmup=1, sessions=(2,), changes=3)


# --------------------------------------------------------------------------- processes


class RssSampler:
    """Reads the server's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pids = process_tree(pid)
        self.interval = interval
        self.peak_kb = rss_kb(self.pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pids))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak_kb = max(self.peak_kb, rss_kb(self.pids))


# --------------------------------------------------------------------------- servers


@dataclass
class Target:
    """One server under test, as the clients see it."""

    name: str
    port: int
    pid: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def client(self, connections: int = 10) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.url, cookies=self.cookies, timeout=60, limits=limits)

    def api_headers(self, session_id: str) -> dict[str, str]:
        return api_headers(self.url, session_id, self.token)

    def socket(self, page: str, session_id: str, open_timeout: float = 60):
        """The kernel websocket of ``page`` with this target's cookies."""
        return kernel_socket(
            self.ws_url,
            page,
            session_id,
            origin=self.url,
            cookies=self.cookie_header(),
            open_timeout=open_timeout,
        )


class PlainMarimo:
    """devtools/plain_marimo.py under uvicorn on a free loopback port."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "uvicorn.log"
        self.proc: subprocess.Popen | None = None
        self.env = env or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.plain_marimo", "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc is not None
        wait_ready(self.proc, self.url + DASHBOARD + "health", "plain marimo", self.log, timeout)

    def stop(self, timeout: float = 10) -> int | None:
        return stop_process(self.proc, timeout)

    def log(self) -> str:
        return read_log(self.log_path)


async def sign_in(target: Target) -> None:
    """alice's Django session cookie for the demo (not measured)."""
    async with httpx.AsyncClient(base_url=target.url, timeout=30) as client:
        await login(client, "alice", PASSWORD)
        target.cookies = dict(client.cookies.items())


async def read_token(target: Target) -> None:
    """The page's Marimo-Server-Token, as the frontend would send it."""
    async with target.client() as client:
        response = await client.get(DASHBOARD)
        response.raise_for_status()
        target.token = server_token(response.text)


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


class NetLog:
    """What one page fetched, from the Chrome DevTools protocol Network domain."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.ws_received = 0
        self.ws_sent = 0
        self.last_event = time.monotonic()

    async def attach(self, page: Any) -> None:
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.dataReceived", self._data)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)
        cdp.on("Network.webSocketFrameReceived", self._ws_in)
        cdp.on("Network.webSocketFrameSent", self._ws_out)
        await cdp.send("Network.enable")

    def _entry(self, params: dict[str, Any]) -> dict[str, Any]:
        self.last_event = time.monotonic()
        return self.requests.setdefault(
            params["requestId"],
            {"url": "", "status": 0, "wire": 0, "body": 0, "cache": False, "done": False},
        )

    def _sent(self, params: dict[str, Any]) -> None:
        self._entry(params)["url"] = params["request"]["url"]

    def _response(self, params: dict[str, Any]) -> None:
        entry = self._entry(params)
        response = params["response"]
        entry["status"] = response.get("status", 0)
        entry["url"] = entry["url"] or response.get("url", "")
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            entry["cache"] = True
        if response.get("fromServiceWorker"):
            entry["service_worker"] = True

    def _from_cache(self, params: dict[str, Any]) -> None:
        self._entry(params)["cache"] = True

    def _data(self, params: dict[str, Any]) -> None:
        self._entry(params)["body"] += params.get("dataLength", 0)

    def _finished(self, params: dict[str, Any]) -> None:
        entry = self._entry(params)
        entry["wire"] = int(params.get("encodedDataLength", 0))
        entry["done"] = True

    def _failed(self, params: dict[str, Any]) -> None:
        entry = self._entry(params)
        entry["done"] = True
        entry["failed"] = params.get("errorText", "failed")

    def _ws_in(self, params: dict[str, Any]) -> None:
        self.ws_received += len(params["response"].get("payloadData", ""))

    def _ws_out(self, params: dict[str, Any]) -> None:
        self.ws_sent += len(params["response"].get("payloadData", ""))

    async def quiet(self, seconds: float = 1.0, timeout: float = 10.0) -> None:
        """Wait until no request is pending and nothing happened for ``seconds``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = any(not r["done"] for r in self.requests.values())
            if not pending and time.monotonic() - self.last_event >= seconds:
                return
            await asyncio.sleep(0.1)

    def totals(self, origin: str) -> dict[str, Any]:
        requests = [r for r in self.requests.values() if r["url"].startswith("http")]
        return {
            "requests": len(requests),
            "wire_bytes": sum(r["wire"] for r in requests),
            "body_bytes": sum(r["body"] for r in requests),
            "from_cache": sum(1 for r in requests if r["cache"]),
            "over_network": sum(1 for r in requests if not r["cache"] and r["wire"] > 0),
            "failed": sum(1 for r in requests if r.get("failed")),
            "not_loopback": sorted({r["url"] for r in requests if not r["url"].startswith(origin)}),
            "websocket_received_chars": self.ws_received,
            "websocket_sent_chars": self.ws_sent,
        }


async def transferred(browser: Browser, target: Target) -> dict:
    """Bytes of a cold dashboard load, then whoami in the same context."""
    context = await browser.context(target)
    try:
        figures: dict[str, Any] = {}
        for label, path in (("dashboard", DASHBOARD), ("whoami", WHOAMI)):
            log = NetLog()
            page, done = await browser.load(context, target, path, before=log.attach)
            await log.quiet()
            figures[label] = {**log.totals(target.url), "dom_ms": round(done["dom"], 1)}
            await page.close()
    finally:
        await context.close()
    a, b = figures["dashboard"]["wire_bytes"], figures["whoami"]["wire_bytes"]
    figures["whoami_pct_of_dashboard"] = round(100 * b / a, 1) if a else None
    return figures


class SliderTrace:
    """Where a slider move's time goes: CDP timing of its POST and socket frames.

    CDP stamps events on a monotonic clock in seconds; the page stamps the key
    and the DOM change with ``performance.now()``. A POST's
    ``requestWillBeSent`` carries both its monotonic ``timestamp`` and its
    ``wallTime``, which ties the two clocks together (through
    ``performance.timeOrigin``).
    """

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self.frames: list[tuple[float, str]] = []  # (monotonic s, payload)
        self.wall_offset: float | None = None  # monotonic s - wall s

    async def attach(self, page: Any) -> None:
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._request)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._frame)
        await cdp.send("Network.enable")

    def _request(self, params: dict[str, Any]) -> None:
        if "set_ui_element_value" not in params["request"]["url"]:
            return
        self.wall_offset = params["timestamp"] - params["wallTime"]
        post: dict[str, Any] = {"sent": params["timestamp"]}
        self._by_id[params["requestId"]] = post
        self.posts.append(post)

    def _response(self, params: dict[str, Any]) -> None:
        post = self._by_id.get(params["requestId"])
        if post is None:
            return
        response = params["response"]
        timing = response.get("timing") or {}
        post["response"] = params["timestamp"]
        post["reused"] = bool(response.get("connectionReused"))
        # ms after timing.requestTime: request written, first response byte
        post["send_end_ms"] = timing.get("sendEnd")
        post["headers_end_ms"] = timing.get("receiveHeadersEnd")
        post["response_headers"] = sorted(response.get("headers", {}))

    def _finished(self, params: dict[str, Any]) -> None:
        post = self._by_id.get(params["requestId"])
        if post is not None:
            post["finished"] = params["timestamp"]

    def _frame(self, params: dict[str, Any]) -> None:
        self.frames.append((params["timestamp"], params["response"].get("payloadData", "")))

    def breakdown(self, key_ms: float, change_ms: float, origin_ms: float, text: str) -> dict:
        """One move's intervals in ms, or {} when its POST was not seen."""
        if self.wall_offset is None:
            return {}
        key = (origin_ms + key_ms) / 1000 + self.wall_offset
        change = (origin_ms + change_ms) / 1000 + self.wall_offset
        posts = [p for p in self.posts if key - 0.005 <= p["sent"] <= change]
        if not posts:
            return {}
        post = posts[0]
        frames = [(t, data) for t, data in self.frames if post["sent"] <= t <= change + 0.005]
        output = next((t for t, data in frames if text in data), None)
        ms = lambda a, b: None if a is None or b is None else round((b - a) * 1000, 2)  # noqa: E731
        return {
            "key_to_post": ms(key, post["sent"]),
            "post_to_response": ms(post["sent"], post.get("response")),
            "post_to_finished": ms(post["sent"], post.get("finished")),
            "post_to_output_frame": ms(post["sent"], output),
            "output_frame_to_dom": ms(output, change),
            "frames": len(frames),
            "frames_before_output": sum(1 for t, _ in frames if output is None or t < output),
            "posts": len(posts),
            "reused": post.get("reused"),
            "send_end_ms": post.get("send_end_ms"),
            "headers_end_ms": post.get("headers_end_ms"),
        }


def trace_summary(moves: list[dict[str, Any]]) -> dict[str, Any]:
    """Each interval's p50 over the moves, plus what the POSTs looked like."""
    out: dict[str, Any] = {"moves": len(moves)}
    for key in dict.fromkeys(k for move in moves for k in move if k != "reused"):
        values = [m[key] for m in moves if m.get(key) is not None]
        out[key] = summary(values).get("p50")
    out["reused_share"] = (
        round(sum(1 for m in moves if m.get("reused")) / len(moves), 2) if moves else None
    )
    return out


async def slider(browser: Browser, target: Target, plan: Plan) -> dict:
    """Keyboard moves of the slider until the dependent "N points" text changes."""
    context = await browser.context(target)
    latencies: list[float] = []
    moves: list[dict[str, Any]] = []
    failures = 0
    trace = SliderTrace()
    try:
        page, _ = await browser.load(context, target, DASHBOARD, before=trace.attach)
        origin_ms = await page.evaluate("performance.timeOrigin")
        thumb = page.get_by_role("slider")
        await thumb.focus()
        seen = await page.evaluate("window.__bench.changes.length")
        for i in range(plan.slider_moves):
            await page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
            try:
                await page.wait_for_function(
                    f"window.__bench.changes.length > {seen}", timeout=10_000
                )
            except Exception:
                failures += 1
                await thumb.focus()
                continue
            changes = await page.evaluate("window.__bench.changes")
            change = changes[-1]
            seen = len(changes)
            if change["key"] is not None:
                latencies.append(change["t"] - change["key"])
                moves.append(trace.breakdown(change["key"], change["t"], origin_ms, change["to"]))
        await page.close()
    finally:
        await context.close()
    posts = trace.posts[:1]
    return {
        **summary(latencies),
        "failures": failures,
        "samples_ms": latencies,
        "trace": trace_summary([m for m in moves if m]),
        "post_response_headers": posts[0].get("response_headers") if posts else None,
        "moves": moves,
    }


# --------------------------------------------------------------------------- protocol


async def post_round_trips(target: Target, plan: Plan) -> dict:
    """POST set_ui_element_value, then its output on the socket; one change at a time.

    Two figures per change: the HTTP round trip alone, and the change
    latency (POST sent -> the dependent output frame read).
    """
    session = new_session_id()
    latencies: list[float] = []
    changes: list[float] = []
    retries: list[int] = []
    failures = 0
    async with target.client() as client, target.socket(DASHBOARD, session) as kernel:
        await kernel.output_containing(marker(10), timeout=60)
        object_id = kernel.object_id(SLIDER_LABEL)
        for i in range(plan.post_warmup + plan.posts):
            value = next_value(i)
            kernel.outputs.clear()
            start = time.perf_counter()
            response = await set_value(
                client, DASHBOARD, target.api_headers(session), object_id, value, retries
            )
            elapsed = (time.perf_counter() - start) * 1000
            try:
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")
                await kernel.output_containing(marker(value), timeout=plan.change_timeout)
            except (RuntimeError, TimeoutError) as error:
                failures += 1
                print(f"  {target.name}: POST {i} failed: {error}", file=sys.stderr)
                continue
            if i >= plan.post_warmup:
                latencies.append(elapsed)
                changes.append((time.perf_counter() - start) * 1000)
    return {
        **summary(latencies),
        "failures": failures,
        "retries": len(retries),
        "samples_ms": latencies,
        "change": {**summary(changes), "samples_ms": changes},
    }


@dataclass
class SessionResult:
    opened: bool = False
    first_output_s: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    error: str = ""


async def concurrent_round(target: Target, n: int, plan: Plan) -> dict:
    """n sessions at once; widget changes start when every session is up (or failed)."""
    results = [SessionResult() for _ in range(n)]
    retries: list[int] = []
    up = asyncio.Event()
    finished = asyncio.Event()
    counts = {"up": 0, "finished": 0}
    marks: dict[str, float] = {}  # when every session was up, when the last change was seen

    def count(key: str, event: asyncio.Event) -> None:
        counts[key] += 1
        if counts[key] == n:
            event.set()
            marks[key] = time.perf_counter()

    async def one(client: httpx.AsyncClient, result: SessionResult) -> None:
        session = new_session_id()
        is_up = is_finished = False
        start = time.perf_counter()
        try:
            page = await client.get(DASHBOARD)  # as a browser starts a session
            if page.status_code != 200:
                raise RuntimeError(f"page GET {page.status_code}")
            async with target.socket(DASHBOARD, session, plan.round_timeout) as kernel:
                await kernel.output_containing(marker(10), timeout=plan.round_timeout)
                result.first_output_s = time.perf_counter() - start
                object_id = kernel.object_id(SLIDER_LABEL)
                result.opened = True
                is_up = True
                count("up", up)
                await up.wait()
                for i in range(plan.changes):
                    value = next_value(i)
                    kernel.outputs.clear()
                    t0 = time.perf_counter()
                    response = await set_value(
                        client, DASHBOARD, target.api_headers(session), object_id, value, retries
                    )
                    if response.status_code != 200:
                        raise RuntimeError(f"POST {response.status_code} {response.text[:100]}")
                    await kernel.output_containing(marker(value), timeout=plan.change_timeout)
                    marks["last_change"] = time.perf_counter()
                    result.latencies_ms.append((marks["last_change"] - t0) * 1000)
                is_finished = True
                count("finished", finished)
                await finished.wait()  # all n kernels stay alive until the last is done
        except Exception as error:
            result.error = f"{type(error).__name__}: {str(error)[:160]}"
        finally:
            if not is_up:
                count("up", up)
            if not is_finished:
                count("finished", finished)

    pids = process_tree(target.pid)
    await asyncio.sleep(1.0)
    idle_kb = rss_kb(pids)
    threads_idle = sum(proc_status(p)["Threads"] for p in pids)
    started = time.perf_counter()
    with RssSampler(target.pid) as sampler:
        async with target.client(connections=n + 5) as client:
            tasks = [asyncio.ensure_future(one(client, r)) for r in results]
            _, pending = await asyncio.wait(tasks, timeout=plan.round_timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - started
    for task, result in zip(tasks, results, strict=True):
        if task in pending and not result.error:
            result.error = "round timeout"
    latencies = [v for r in results for v in r.latencies_ms]
    first = [r.first_output_s * 1000 for r in results if r.first_output_s is not None]
    errors: dict[str, int] = {}
    for r in results:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    return {
        "sessions": n,
        "sessions_up": sum(r.opened for r in results),
        "changes_planned": n * plan.changes,
        "changes_ok": len(latencies),
        "success_rate": round(len(latencies) / (n * plan.changes), 4),
        "change_ms": summary(latencies),
        # session start: page GET -> the kernel's first outputs on the socket
        "first_output_ms": summary(first),
        # throughput of the change phase (all sessions up -> last change seen)
        "changes_per_s": round(len(latencies) / (marks["last_change"] - marks["up"]), 1)
        if latencies and "up" in marks
        else None,
        "post_retries": len(retries),
        "wall_s": round(wall, 2),
        "rss_idle_mb": round(idle_kb / 1024, 1),
        "rss_peak_mb": round(sampler.peak_kb / 1024, 1),
        "rss_per_session_mb": round((sampler.peak_kb - idle_kb) / 1024 / n, 2),
        "threads_idle": threads_idle,
        "errors": errors,
    }


# --------------------------------------------------------------------------- report


def build_summary(result: dict[str, Any]) -> dict[str, float | None]:
    """The headline figures of one server in one run, flat."""
    figures: dict[str, float | None] = {}
    if "page_load" in result:
        figures["page_load_cold_median_ms"] = result["page_load"]["cold"]["median_ms"]
        figures["page_load_warm_median_ms"] = result["page_load"]["warm"]["median_ms"]
    if "bytes" in result:
        bytes_ = result["bytes"]
        figures["bytes_dashboard_cold"] = bytes_["dashboard"]["wire_bytes"]
        figures["bytes_whoami_after"] = bytes_["whoami"]["wire_bytes"]
    if "slider" in result:
        figures["slider_p50_ms"] = result["slider"].get("p50")
        figures["slider_p95_ms"] = result["slider"].get("p95")
        trace = result["slider"].get("trace", {})
        for part in ("key_to_post", "post_to_response", "post_to_output_frame"):
            figures[f"slider_{part}_ms"] = trace.get(part)
        figures["slider_output_frame_to_dom_ms"] = trace.get("output_frame_to_dom")
    if "post" in result:
        figures["change_p50_ms"] = result["post"]["change"].get("p50")
        figures["post_p50_ms"] = result["post"].get("p50")
        figures["post_p95_ms"] = result["post"].get("p95")
    for round_ in result.get("concurrency", []):
        n = round_["sessions"]
        figures[f"n{n}_success_rate"] = round_["success_rate"]
        figures[f"n{n}_session_start_p50_ms"] = round_["first_output_ms"].get("p50")
        figures[f"n{n}_change_p50_ms"] = round_["change_ms"].get("p50")
        figures[f"n{n}_change_p95_ms"] = round_["change_ms"].get("p95")
        figures[f"n{n}_changes_per_s"] = round_["changes_per_s"]
        figures[f"n{n}_rss_per_session_mb"] = round_["rss_per_session_mb"]
    return figures


def combine(runs: list[dict[str, dict[str, float | None]]]) -> dict[str, dict[str, dict]]:
    """Per server and figure: the median of the runs, the spread, every run's value."""
    out: dict[str, dict[str, dict]] = {}
    for name in SERVERS:
        keys = [k for run in runs for k in run.get(name, {})]
        out[name] = {}
        for key in dict.fromkeys(keys):
            values = [run[name].get(key) for run in runs if name in run]
            present = [v for v in values if v is not None]
            out[name][key] = {
                "median": statistics.median(present) if present else None,
                "min": min(present) if present else None,
                "max": max(present) if present else None,
                "runs": values,
            }
    return out


def ratio(summary_: dict[str, dict[str, dict]], key: str) -> float | None:
    """notebook_host's median over plain marimo's."""
    a = summary_[HOST].get(key, {}).get("median")
    b = summary_[PLAIN].get(key, {}).get("median")
    return round(a / b, 3) if a is not None and b else None


#: The issue's targets, as (figure, "<=" or ">=", bound on notebook_host / plain marimo).
TARGETS: list[tuple[str, str, float]] = [
    ("slider_p50_ms", "<=", 1.0),
    ("slider_p95_ms", "<=", 1.1),
    ("page_load_warm_median_ms", "<=", 1.0),
    ("page_load_cold_median_ms", "<=", 0.9),
    ("bytes_dashboard_cold", "<=", 0.30),
    ("n100_session_start_p50_ms", "<=", 1.0),
    ("n100_change_p50_ms", "<=", 1.0),
    ("n100_changes_per_s", ">=", 1.0),
]


def targets_met(summary_: dict[str, dict[str, dict]]) -> list[dict[str, Any]]:
    """Each target's ratio of medians, met or not, and the ratio in each run."""
    out = []
    for key, op, bound in TARGETS:
        value = ratio(summary_, key)
        if value is None:
            continue
        runs = zip(summary_[HOST][key]["runs"], summary_[PLAIN][key]["runs"], strict=True)
        out.append(
            {
                "figure": key,
                "ratio": value,
                "target": f"{op} {bound}",
                "bound": bound,
                "met": value <= bound if op == "<=" else value >= bound,
                "run_ratios": [round(a / b, 3) for a, b in runs if a is not None and b],
            }
        )
    return out


LABELS = {
    "page_load_cold_median_ms": ("page load, cold (median)", "ms"),
    "page_load_warm_median_ms": ("page load, warm (median)", "ms"),
    "slider_p50_ms": ("slider -> output p50 (Chromium)", "ms"),
    "slider_p95_ms": ("slider -> output p95 (Chromium)", "ms"),
    "slider_key_to_post_ms": ("  of which key -> POST sent", "ms"),
    "slider_post_to_response_ms": ("  POST sent -> response", "ms"),
    "slider_post_to_output_frame_ms": ("  POST sent -> output frame", "ms"),
    "slider_output_frame_to_dom_ms": ("  output frame -> DOM", "ms"),
    "change_p50_ms": ("change, 1 session: POST -> output p50", "ms"),
    "post_p50_ms": ("POST set_ui_element_value p50", "ms"),
    "post_p95_ms": ("POST set_ui_element_value p95", "ms"),
    "bytes_dashboard_cold": ("bytes, dashboard cold (A)", "kB"),
    "bytes_whoami_after": ("bytes, whoami after A (B)", "kB"),
}


def label(key: str) -> tuple[str, str]:
    if key in LABELS:
        return LABELS[key]
    match = re.fullmatch(r"n(\d+)_(.*)", key)
    assert match, key
    n, rest = match.groups()
    return {
        "success_rate": (f"N={n}: success rate", "%"),
        "session_start_p50_ms": (f"N={n}: session start p50 (GET -> output)", "ms"),
        "change_p50_ms": (f"N={n}: change p50", "ms"),
        "change_p95_ms": (f"N={n}: change p95", "ms"),
        "changes_per_s": (f"N={n}: changes per second", "1/s"),
        "rss_per_session_mb": (f"N={n}: RSS per session", "MB"),
    }[rest]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "kB":
        return f"{value / 1000:,.0f}"
    if unit == "MB":
        return f"{value:,.2f}"
    if unit == "%":  # success rates are stored as fractions
        return f"{100 * value:,.0f}"
    return f"{value:,.1f}"


def cell(figure: dict[str, Any], unit: str, runs: int) -> str:
    """The median, and the spread [min-max] when there is more than one run."""
    text = fmt(figure.get("median"), unit)
    if runs > 1 and figure.get("min") is not None:
        text += f" [{fmt(figure['min'], unit)}-{fmt(figure['max'], unit)}]"
    return text


def table(summary_: dict[str, dict[str, dict]], runs: int) -> str:
    """The headline figures side by side: medians of the runs, spreads, ratios."""
    rows = [("figure", "unit", "notebook_host", "plain marimo", "host/plain")]
    for key in summary_[HOST]:
        text, unit = label(key)
        host, plain = summary_[HOST][key], summary_[PLAIN].get(key, {})
        value = ratio(summary_, key)
        rows.append(
            (
                text,
                unit,
                cell(host, unit, runs),
                cell(plain, unit, runs),
                "-" if value is None else f"{value:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [c.rjust(w) for c, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pooled(results: dict[str, Any], name: str, *path: str) -> list[float]:
    """One figure's samples over every run, e.g. ("slider", "samples_ms")."""
    out: list[float] = []
    for run in results["runs"]:
        value: Any = run.get(name, {})
        for step in path:
            value = value.get(step, {}) if isinstance(value, dict) else {}
        out.extend(value or [])
    return out


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {HOST: "#2563eb", PLAIN: "#f97316"}
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    for ax, steps, title in (
        (axes[0], ("slider", "samples_ms"), "slider key press -> 'N points' changes (Chromium)"),
        (axes[1], ("post", "change", "samples_ms"), "1 session: POST -> output frame"),
    ):
        for name in SERVERS:
            samples = sorted(pooled(results, name, *steps))
            if samples:
                ys = [(i + 1) / len(samples) for i in range(len(samples))]
                p50 = percentile(samples, 50)
                ax.step(
                    samples,
                    ys,
                    where="post",
                    color=colors[name],
                    label=f"{name} (p50 {p50:.1f} ms)",
                )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("ms (all runs pooled)")
        ax.set_ylabel("fraction of samples <= x")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    ax = axes[2]
    shown = results["targets"]
    for i, target in enumerate(shown):
        color = "#16a34a" if target["met"] else "#dc2626"
        ax.barh(i, target["ratio"], color=color, alpha=0.7)
        per_run = target["run_ratios"]
        if per_run:
            ax.plot(per_run, [i] * len(per_run), "k|", markersize=12)
        bound = target["bound"]
        ax.plot([bound, bound], [i - 0.4, i + 0.4], "k--", linewidth=1)
    ax.set_yticks(range(len(shown)), [label(t["figure"])[0] for t in shown], fontsize=8)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("host / plain (bar: median, |: runs, --: target)")
    ax.set_title("targets", fontsize=10)
    fig.suptitle(
        f"notebook_host vs plain marimo, {results['date']}, "
        f"{len(results['runs'])} interleaved runs ({results['machine']['cpus']} CPUs)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


NOTES = [
    "Both servers run at once on 127.0.0.1, for the whole benchmark; one is measured at a "
    "time, the benchmark client (this process, and Chromium) shares the machine's CPUs "
    "with it. Runs are interleaved: every figure of notebook_host, then every figure of "
    "plain marimo, again, `runs` times (A B A B A B); each figure is the median of the "
    "runs, [min-max] their spread.",
    "Page loads: ms from navigation start (performance.timeOrigin) to the first DOM "
    "state with the outputs laid out (MutationObserver); paint_median_ms adds the "
    "next animation frame; cold = fresh context (empty cache), warm = a second load in "
    "the same context. One unmeasured load per server first (first_load_ms).",
    "Slider: keydown event timeStamp to the DOM change of the 'N points' text, both in "
    "the page's clock; includes the POST, the kernel run and the websocket message. Its "
    "trace splits each move with CDP's Network events (POST sent, response, the frame "
    "that carries the new text).",
    "Change, 1 session: httpx and websockets, POST sent -> the dependent output frame "
    "read; POST: the request/response alone, on a keep-alive connection.",
    "Bytes: CDP Network.loadingFinished encodedDataLength (wire bytes incl. headers) of a "
    "cold load until the network is quiet for 1 s; websocket frames counted apart.",
    "Concurrency: N sessions at once; each GETs the page, opens its socket and waits for "
    "the kernel's first outputs (session start); changes start when all are up; a change "
    "is POST -> dependent output on that session's socket; all sockets stay open until "
    "the last change, so the RSS peak holds N live kernels.",
    "POST retries: a request is retried once when a reused keep-alive connection was "
    "closed before any response (uvicorn closes idle connections after 5 s), as "
    "browsers do.",
]

PHASES = ("page_load", "bytes", "slider", "post", "concurrency", "screens")


async def profiled(target: Target, step: Awaitable[dict]) -> dict:
    """``step``'s figures, with py-spy's profile of the server while it ran.

    ``cpu_ms_per_move`` is the server's CPU over the whole phase, its page
    load included, divided by the moves measured.
    """
    with tempfile.TemporaryDirectory(prefix="bench-spy-") as folder:
        raw = Path(folder) / f"{target.name}.txt"
        before = cpu_seconds(target.pid)
        with spy.record(target.pid, raw):
            figures = await step
        moves = max(1, len(figures.get("samples_ms", [])))
        figures["profile"] = {
            "cpu_ms_per_move": round((cpu_seconds(target.pid) - before) * 1000 / moves, 2),
            **spy.report(raw),
        }
    return figures


async def measure_server(
    browser: Browser, target: Target, plan: Plan, load: OtherLoad, phases: tuple[str, ...]
) -> dict[str, Any]:
    """Every figure of one server, once."""
    out: dict[str, Any] = {}

    def moves() -> Awaitable[dict]:
        step = slider(browser, target, plan)
        return profiled(target, step) if plan.profile else step

    steps: dict[str, tuple[str, Callable[[], Awaitable[dict]]]] = {
        "page_load": ("page loads", lambda: page_loads(browser, target, plan)),
        "bytes": ("bytes", lambda: transferred(browser, target)),
        "slider": ("slider", moves),
        "post": ("changes, 1 session", lambda: post_round_trips(target, plan)),
    }
    for phase, (text, step) in steps.items():
        if phase in phases:
            load.phase(f"{text}, {target.name}")
            out[phase] = await step()
    if "concurrency" in phases:
        out["concurrency"] = []
        for n in plan.sessions:
            load.phase(f"{n} sessions at once, {target.name}")
            out["concurrency"].append(await concurrent_round(target, n, plan))
    return out


async def measure(
    targets: dict[str, Target], plan: Plan, load: OtherLoad, phases: tuple[str, ...] = PHASES
) -> dict[str, Any]:
    results: dict[str, Any] = {"first_load_ms": {}, "runs": []}
    async with Browser(plan) as browser:
        results["chromium"] = browser.version
        load.phase("first loads")
        for name, target in targets.items():  # builds each app, fills OS caches
            context = await browser.context(target)
            _, done = await browser.load(context, target, DASHBOARD)
            results["first_load_ms"][name] = round(done["dom"], 1)
            await context.close()
        if "screens" in phases:
            load.phase("screenshots")
            SCREENS_DIR.mkdir(parents=True, exist_ok=True)
            results["screens"] = await screens.compare_dashboard(
                browser.browser, targets, SCREENS_DIR
            )
        for run in range(plan.runs):
            one = {}
            for name, target in targets.items():
                print(f"run {run + 1}/{plan.runs}: {name}", flush=True)
                one[name] = await measure_server(browser, target, plan, load, phases)
            results["runs"].append(one)
    return results


def run_servers(
    workdir: Path,
    plan: Plan,
    load: OtherLoad,
    production_static: bool,
    phases: tuple[str, ...] = PHASES,
    measuring: Callable[..., Awaitable[dict[str, Any]]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Start both servers, measure, stop them; (results, shutdown figures, demo env).

    ``measuring`` replaces :func:`measure` (same arguments) for another benchmark
    on the same two servers (bench/static_requests.py).
    """
    (workdir / "host").mkdir()
    (workdir / "plain").mkdir()
    plain = PlainMarimo(workdir / "plain")
    plain.launch()
    demo_env = {}
    if production_static:
        demo_env = {"DJANGO_DEBUG": "0", "DJANGO_STATIC_ROOT": str(workdir / "static")}
    host = LiveServer(
        workdir=workdir / "host",
        settings="bench.compare_settings",
        ready_path="/accounts/login/",
        env=demo_env,
    )
    shutdown: dict[str, Any] = {}
    try:
        host.prepare()
        if production_static:
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=ROOT,
                env=host.environ(),
                check=True,
            )
        host.start()
        plain.wait_ready()
        assert host.proc is not None and plain.proc is not None
        targets = {
            HOST: Target(HOST, host.port, host.proc.pid),
            PLAIN: Target(PLAIN, plain.port, plain.proc.pid),
        }
        print(f"{HOST}: {targets[HOST].url}  {PLAIN}: {targets[PLAIN].url}", flush=True)

        async def prepare_and_measure() -> dict[str, Any]:
            await sign_in(targets[HOST])
            for target in targets.values():
                await read_token(target)
            return await (measuring or measure)(targets, plan, load, phases)

        results = asyncio.run(prepare_and_measure())
    except BaseException:
        print("--- daphne log (tail) ---\n" + host.log()[-3000:], file=sys.stderr)
        print("--- uvicorn log (tail) ---\n" + plain.log()[-3000:], file=sys.stderr)
        raise
    finally:
        load.phase("shutdown")
        for name, server in ((HOST, host), (PLAIN, plain)):
            start = time.monotonic()
            code = server.stop()
            shutdown[name] = {"exit_code": code, "seconds": round(time.monotonic() - start, 2)}
    demo_env.setdefault("DJANGO_DEBUG", os.environ.get("DJANGO_DEBUG", "1 (the harness default)"))
    return results, shutdown, demo_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run: N=2, 3 samples")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--runs", type=int, help="interleaved runs (default: the plan's)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy on each server during the slider phase"
    )
    parser.add_argument(
        "--only",
        help="comma-separated phases to measure (default all): " + ",".join(PHASES),
    )
    parser.add_argument(
        "--production-static",
        action="store_true",
        help="run the demo with DJANGO_DEBUG=0 and collectstatic (gzip variants) "
        "instead of its default DEBUG serving from the finders",
    )
    args = parser.parse_args(argv)
    plan = TINY if args.tiny else FULL
    if args.runs:
        plan = dataclasses.replace(plan, runs=args.runs)
    if args.profile:
        plan = dataclasses.replace(plan, profile=True)
    phases = tuple(args.only.split(",")) if args.only else PHASES
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {sorted(unknown)}")
    t0 = time.monotonic()
    today = datetime.date.today().isoformat()
    stem = today + ("-production-static" if args.production_static else "")
    stem += "-tiny" if args.tiny else ""
    args.out.mkdir(parents=True, exist_ok=True)

    with OtherLoad(t0) as load, tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        load.phase("start-up")
        results, shutdown, demo_env = run_servers(
            Path(tmp), plan, load, args.production_static, phases
        )
    other_load = load.report()

    import marimo

    results = {
        "date": today,
        "mode": "tiny" if args.tiny else "full",
        "command": " ".join(["python -m bench.compare", *(sys.argv[1:] if argv is None else argv)]),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"marimo": marimo.__version__, "chromium": results.pop("chromium")},
        "plan": {k: list(v) if isinstance(v, tuple) else v for k, v in plan.__dict__.items()},
        "servers": {
            HOST: "daphne, bench.compare_settings (the demo without its per-user "
            "session limit), alice signed in",
            PLAIN: "uvicorn, devtools/plain_marimo.py (marimo.create_asgi_app)",
        },
        "demo_env": {**demo_env, "collectstatic": args.production_static},
        "notes": NOTES,
        "shutdown": shutdown,
        "other_load": other_load,
        "duration_s": round(time.monotonic() - t0, 1),
        **results,
    }
    per_run = [{name: build_summary(run[name]) for name in SERVERS} for run in results["runs"]]
    results["summary"] = combine(per_run)
    results["targets"] = targets_met(results["summary"])
    print()
    print(table(results["summary"], plan.runs))
    if "screens" in results:
        shot = results["screens"]
        print(
            f"\nscreenshot, dashboard: {shot['differing_pixels']} of "
            f"{shot['width']}x{shot['height']} pixels differ "
            f"(max channel difference {shot['max_channel_delta']})"
        )
    for name in SERVERS:
        profiles = [
            r[name]["slider"]["profile"]
            for r in results["runs"]
            if "profile" in r[name].get("slider", {})
        ]
        if profiles:
            last = profiles[-1]
            parts = ", ".join(f"{k} {v} %" for k, v in list(last["parts_percent"].items())[:6])
            print(f"\nslider profile, {name}: {last['cpu_ms_per_move']} ms CPU per move; {parts}")
            for frame, share in last["top_functions"][:5]:
                print(f"    {share:5.1f} %  {frame[:150]}")
    print("\ntargets (notebook_host / plain marimo, medians):")
    for target in results["targets"]:
        state = "met" if target["met"] else "MISSED"
        print(f"  {label(target['figure'])[0]}: {target['ratio']:.2f} ({target['target']}) {state}")
    print(f"\nshutdown on SIGTERM: {json.dumps(shutdown)}")
    for phase, figures in other_load.items():
        if figures["other_cpu_pct"] >= OTHER_LOAD_WARNING:
            print(
                f"WARNING: other processes used {figures['other_cpu_pct']}% of a core during "
                f"'{phase}' ({figures['top_other']}): its figures are disturbed"
            )
    json_path = args.out / f"{stem}.json"
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    png_path = args.out / f"{stem}.png"
    plot(results, png_path)
    print(f"wrote {json_path} and {png_path} in {results['duration_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
