"""Kernel isolation: "process", "thread" and plain marimo (``make bench-isolation``).

Runs tests/notebooks/isolation.py (one small notebook) three ways, interleaved
(thread, process, plain, thread, ...): tests/projects/isolation under daphne
in each isolation mode, and plain marimo's ``create_asgi_app`` under uvicorn
(devtools/plain_marimo.py, no patch) with the same 2 s session TTL. Prints
the median over runs of: page open -> first output p50, widget change round
trip p50, proportional memory (PSS) per idle open session, the server tree's
RSS after many sessions (200 by default) opened and closed over its RSS
before them, a quiet tab's change round trip p50 while another tab's cell
runs a busy loop over the same tab's p50 alone, and the changes/s of many
tabs (100 by default) changing their widgets all at once. Writes
bench/results/<date>-isolation.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from devtools.live import ROOT, LiveServer
from devtools.procfs import process_tree
from devtools.targets import PlainMarimo, Target
from devtools.visitor import Tab, open_tab
from notebook_host.runtime.collector import COLLECT_AFTER

PAGE = "/iso/"
READY = "fault none done"
THREAD, PROCESS, PLAIN = "thread", "process", "plain_marimo"
#: Seconds a closed session lives on (both servers), then the process's kill grace.
TTL = 2
SETTLED = TTL + 1.5
#: Then also the collection that frees closed sessions (notebook_host.runtime.collector).
MEMORY_SETTLED = SETTLED + COLLECT_AFTER


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


async def measure(
    live: Any, pid: int, sessions: int, changes: int, many: int, churn: int
) -> dict[str, float]:
    """Every figure for one server; ``live`` has the ``url`` and ``ws_url`` tabs need."""

    async def opened() -> float:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            start = time.monotonic()
            async with open_tab(live, client, PAGE, ready=READY):
                return time.monotonic() - start

    await opened()  # warm: the app and (process) its template
    await asyncio.sleep(SETTLED)
    starts = [await opened() for _ in range(sessions)]
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=60) as client,
        open_tab(live, client, PAGE, ready=READY) as tab,
    ):
        trips = [
            await tab.turn("knob", i % 50 + 1, f"knob is {i % 50 + 1}") for i in range(changes)
        ]
    await asyncio.sleep(MEMORY_SETTLED)
    idle_before = memory_kib(pid, "Pss")
    rss_before = memory_kib(pid, "Rss")
    async with open_tabs(live, sessions):
        await asyncio.sleep(1)
        per_session = (memory_kib(pid, "Pss") - idle_before) / sessions / 1024
    for _ in range(sessions, churn, sessions):  # the rest of the churn, ``sessions`` at a time
        async with open_tabs(live, sessions):
            pass
    await asyncio.sleep(MEMORY_SETTLED)
    rss_after = memory_kib(pid, "Rss")
    at_once, failed = await many_at_once(live, many, 10)
    quiet, beside_busy = await busy_neighbour(live, changes)  # last: a thread spins on
    return {
        "open -> first output p50 (ms)": statistics.median(starts) * 1000,
        "change round trip p50 (ms)": statistics.median(trips) * 1000,
        "PSS per idle session (MiB)": per_session,
        f"tree RSS after/before {max(churn, sessions)} sessions": rss_after / rss_before,
        "change p50 beside a busy loop / alone": beside_busy / quiet,
        f"changes/s, {many} tabs x 10 changes at once": at_once,
        "changes failed of those": failed,
    }


@contextlib.asynccontextmanager
async def open_tabs(live: Any, count: int, timeout: float = 60) -> Any:
    """``count`` tabs, each with its own client, opened one after another."""
    async with contextlib.AsyncExitStack() as stack:
        tabs = []
        for _ in range(count):
            client = httpx.AsyncClient(base_url=live.url, timeout=timeout)
            await stack.enter_async_context(client)
            tabs.append(await stack.enter_async_context(open_tab(live, client, PAGE, ready=READY)))
        yield tabs


async def many_at_once(live: Any, sessions: int, changes: int) -> tuple[float, int]:
    """Changes/s of ``sessions`` open tabs making ``changes`` changes each, all at once.

    With "thread" every kernel shares the server's GIL; with "process" each
    runs in its own process, so the kernels can use every core. Also returns
    the changes that failed (a POST the server dropped or refused, an output
    that never came); a tab stops at its first failure.
    """
    failed = 0
    async with open_tabs(live, sessions, timeout=120) as tabs:

        async def changing(index: int, tab: Tab) -> int:
            nonlocal failed
            for step in range(changes):
                value = (index * changes + step) % 900 + 100  # each change a new value
                try:
                    await tab.turn("knob", value, f"knob is {value}", timeout=120)
                except Exception as error:  # counted, and the tab stops
                    print(f"a change failed: {type(error).__name__} {error}"[:200])
                    failed += changes - step
                    return step
            return changes

        start = time.monotonic()
        done = await asyncio.gather(*(changing(i, tab) for i, tab in enumerate(tabs)))
        return sum(done) / (time.monotonic() - start), failed


async def busy_neighbour(live: Any, changes: int) -> tuple[float, float]:
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


def run(mode: str, sessions: int, changes: int, many: int, churn: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-iso-") as workdir:
        if mode == PLAIN:
            plain = PlainMarimo(Path(workdir), {"BENCH_SESSION_TTL": str(TTL)})
            plain.launch()
            try:
                plain.wait_ready()
                assert plain.proc is not None
                target = Target(PLAIN, plain.port, plain.proc.pid)
                return asyncio.run(measure(target, target.pid, sessions, changes, many, churn))
            finally:
                plain.stop()
        # No cell timeout: the busy loop must outlast the measure beside it.
        env = {"NOTEBOOK_HOST_TEST_ISOLATION": mode, "NOTEBOOK_HOST_TEST_CELL_TIMEOUT": "0"}
        live = LiveServer(Path(workdir), settings="tests.projects.isolation.settings", env=env)
        live.prepare()
        live.start()
        try:
            return asyncio.run(measure(live, live.proc.pid, sessions, changes, many, churn))
        finally:
            live.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10, help="tabs open at once")
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--many", type=int, default=100, help="tabs changing at once")
    parser.add_argument("--churn", type=int, default=200, help="sessions opened and closed")
    parser.add_argument("--modes", default=f"{THREAD},{PROCESS},{PLAIN}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    modes = args.modes.split(",")
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(args.runs):
        for mode in modes:
            results[mode].append(run(mode, args.sessions, args.changes, args.many, args.churn))
    medians = {
        mode: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for mode, runs in results.items()
    }
    print(f"| figure (median of {args.runs} interleaved runs) | {' | '.join(modes)} |")
    print("|---|" + "---|" * len(modes))
    for key in medians[modes[0]]:
        print(f"| {key} | " + " | ".join(f"{medians[m][key]:.2f}" for m in modes) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{datetime.date.today()}-isolation.json"
    arguments = {key: str(value) for key, value in vars(args).items()}
    out.write_text(json.dumps({"args": arguments, "median": medians, "runs": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
