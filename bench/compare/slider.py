"""The ``slider`` job: keydown to the changed text in the page, and where each move's time goes."""

from __future__ import annotations

from typing import Any

from bench.compare.page_load import Browser
from bench.compare.plan import Plan
from bench.stats import summary
from devtools.client import (
    DASHBOARD,
)
from devtools.targets import Target


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
