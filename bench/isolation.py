"""Kernel isolation, "process" against "thread" (``make bench-isolation``).

Runs tests/projects/isolation (one small notebook) under daphne in each mode,
interleaved (thread, process, thread, process, ...), and prints the median
over runs of: page open -> first output p50, widget change round trip p50,
proportional memory (PSS) per idle open session, the server tree's RSS
before and after the sessions open and close, and a quiet tab's change round
trip p50 while another tab's cell runs a busy loop, over the same tab's p50
alone, and the changes/s of many tabs (100 by default) changing their
widgets all at once. Plain marimo is not measured here (bench/compare.py measures it
against "thread"; ``make bench-cluster`` has its busy-loop figure).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from devtools.live import LiveServer
from devtools.procfs import process_tree
from devtools.visitor import Tab, open_tab

PAGE = "/iso/"
READY = "fault none done"


def memory_kib(pid: int, field: str) -> int:
    """Sum of ``field`` (Pss or Rss) over the server's process tree."""
    total = 0
    for each in process_tree(pid):
        try:
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


async def measure(live: LiveServer, sessions: int, changes: int, many: int) -> dict[str, float]:
    async def opened() -> float:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            start = time.monotonic()
            async with open_tab(live, client, PAGE, ready=READY):
                return time.monotonic() - start

    await opened()  # warm: the app and (process) its template
    await asyncio.sleep(3.5)
    starts = [await opened() for _ in range(sessions)]
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=60) as client,
        open_tab(live, client, PAGE, ready=READY) as tab,
    ):
        trips = [
            await tab.turn("knob", i % 50 + 1, f"knob is {i % 50 + 1}") for i in range(changes)
        ]
    await asyncio.sleep(3.5)
    pid = live.proc.pid
    idle_before = memory_kib(pid, "Pss")
    rss_before = memory_kib(pid, "Rss")
    clients = [httpx.AsyncClient(base_url=live.url, timeout=60) for _ in range(sessions)]
    tabs = [open_tab(live, c, PAGE, ready=READY) for c in clients]
    for t in tabs:
        await t.__aenter__()
    await asyncio.sleep(1)
    per_session = (memory_kib(pid, "Pss") - idle_before) / sessions / 1024
    for t in tabs:
        await t.__aexit__(None, None, None)
    for c in clients:
        await c.aclose()
    await asyncio.sleep(3.5)  # SESSION_TTL 2 s, then the kill grace
    rss_after = memory_kib(pid, "Rss")
    at_once = await many_at_once(live, many, 10)
    quiet, beside_busy = await busy_neighbour(live, changes)  # last: a thread spins on
    return {
        "open -> first output p50 (ms)": statistics.median(starts) * 1000,
        "change round trip p50 (ms)": statistics.median(trips) * 1000,
        "PSS per idle session (MiB)": per_session,
        "tree RSS after/before sessions": rss_after / rss_before,
        "change p50 beside a busy loop / alone": beside_busy / quiet,
        f"changes/s, {many} tabs x 10 changes at once": at_once,
    }


async def many_at_once(live: LiveServer, sessions: int, changes: int) -> float:
    """Changes/s of ``sessions`` open tabs making ``changes`` changes each, all at once.

    With "thread" every kernel shares the server's GIL; with "process" each
    runs in its own process, so the kernels can use every core.
    """
    async with contextlib.AsyncExitStack() as stack:
        tabs = []
        for _ in range(sessions):
            client = httpx.AsyncClient(base_url=live.url, timeout=120)
            await stack.enter_async_context(client)
            tabs.append(await stack.enter_async_context(open_tab(live, client, PAGE, ready=READY)))

        async def changing(index: int, tab: Tab) -> None:
            for step in range(changes):
                value = (index * changes + step) % 900 + 100  # each change a new value
                await tab.turn("knob", value, f"knob is {value}", timeout=120)

        start = time.monotonic()
        await asyncio.gather(*(changing(i, tab) for i, tab in enumerate(tabs)))
        return sessions * changes / (time.monotonic() - start)


async def busy_neighbour(live: LiveServer, changes: int) -> tuple[float, float]:
    """A tab's change round trip p50 alone, then while another tab's cell loops forever.

    With "thread" the loop holds the GIL the other kernels need (and its
    thread cannot be stopped, so this runs last); with "process" it holds
    one core of its own.
    """
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=60) as one,
        httpx.AsyncClient(base_url=live.url, timeout=60) as two,
        open_tab(live, one, PAGE, ready=READY) as quiet,
        open_tab(live, two, PAGE, ready=READY) as busy,
    ):
        alone = [
            await quiet.turn("knob", i % 50 + 1, f"knob is {i % 50 + 1}") for i in range(changes)
        ]
        (await busy.set_value("fault", ["spin"])).raise_for_status()
        await asyncio.sleep(1.0)
        beside = [
            await quiet.turn("knob", i % 50 + 100, f"knob is {i % 50 + 100}")
            for i in range(changes)
        ]
    return statistics.median(alone), statistics.median(beside)


def run(mode: str, sessions: int, changes: int, many: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-iso-") as workdir:
        # No cell timeout: the busy loop must outlast the measure beside it.
        env = {"NOTEBOOK_HOST_TEST_ISOLATION": mode, "NOTEBOOK_HOST_TEST_CELL_TIMEOUT": "0"}
        live = LiveServer(Path(workdir), settings="tests.projects.isolation.settings", env=env)
        live.prepare()
        live.start()
        try:
            return asyncio.run(measure(live, sessions, changes, many))
        finally:
            live.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--many", type=int, default=100, help="tabs changing at once")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"thread": [], "process": []}
    for _ in range(args.runs):
        for mode in results:
            results[mode].append(run(mode, args.sessions, args.changes, args.many))
    print(f"| figure (median of {args.runs} interleaved runs) | thread | process | ratio |")
    print("|---|---|---|---|")
    for key in results["thread"][0]:
        thread = statistics.median(r[key] for r in results["thread"])
        process = statistics.median(r[key] for r in results["process"])
        ratio = process / thread if thread else float("nan")
        print(f"| {key} | {thread:.2f} | {process:.2f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
