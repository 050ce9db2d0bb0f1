"""The ``bytes`` job: what a cold load of the dashboard and whoami transfers (CDP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.compare.page_load import Browser
from bench.compare.plan import WHOAMI
from devtools.client import (
    DASHBOARD,
)
from devtools.targets import Target


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
