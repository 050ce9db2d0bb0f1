"""The protocol-level jobs (httpx and websockets, no browser).

``post``: one session's change latency and POST round trip; ``concurrency``:
N sessions at once, their changes and the server's RSS.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field

import httpx

from bench.compare.plan import Plan
from bench.compare.servers import RssSampler
from bench.stats import summary
from devtools.client import (
    DASHBOARD,
    SLIDER_LABEL,
    marker,
    new_session_id,
    next_value,
    set_value,
)
from devtools.procfs import proc_status, process_tree, rss_kb
from devtools.targets import Target


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
