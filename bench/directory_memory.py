"""Memory of a notebook_directory() after many notebooks were visited, with eviction.

    python -m bench.directory_memory [--notebooks 300] [--idle 10] [--session-ttl 2]
                                     [--sockets/--no-sockets] [--control/--no-control]
                                     [--concurrency 4] [--quick]

Generates N small, distinct marimo notebooks, serves them with a real daphne
(devtools.live.LiveServer, settings bench.projects.settings), visits each once (the page,
and with --sockets its kernel websocket until the notebook's last cell has
printed), then waits for sessions to expire and idle apps to be evicted. It
reads the daphne process's VmRSS and thread count from /proc at the start
(after one warm-up visit), after the visits and after the idle wait.

With --control (the default) the same is done against a second daphne whose
APP_IDLE_TTL is huge, so nothing is evicted and the effect of eviction shows
side by side. The figures go to bench/results/directory-memory-<date>.json.

The server's /_bench/stats probe (bench/projects/urls.py) adds what the process still
holds (loaded apps, sessions, live objects) and, last of all, two diagnostic
readings: the RSS after gc.collect() and glibc malloc_trim(0) (memory freed
by Python but kept by the allocator shows as the gap to "after idle"), and
the RSS after the session directory was also pruned as the next websocket
connect would prune it 60 s later (its records pin evicted apps until then).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from devtools.live import KernelSocket, LiveServer
from devtools.procfs import proc_status

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CONTROL_IDLE_TTL = 100000.0
WARMUP = "warmup"

NOTEBOOK_TEMPLATE = """import marimo

__generated_with = "0.25.2"
app = marimo.App(app_title="Bench notebook __INDEX__")


@app.cell
def _():
    import marimo as mo
    return (mo,)


@app.cell
def _(mo):
    level = mo.ui.slider(0, 100, value=__VALUE__, label="Level of notebook __INDEX__")
    level
    return (level,)


@app.cell
def _(level, mo):
    mo.md(f"## Notebook __INDEX__\\n\\n__MARKER__ at level {level.value}")
    return


if __name__ == "__main__":
    app.run()
"""


def marker(name: str) -> str:
    return f"bench-marker-{name}"


def write_notebooks(folder: Path, count: int) -> list[str]:
    """``count`` distinct notebooks plus the warm-up one; returns their names."""
    names = [f"nb_{index:04d}" for index in range(count)]
    for index, name in enumerate([*names, WARMUP]):
        source = (
            NOTEBOOK_TEMPLATE.replace("__INDEX__", str(index))
            .replace("__VALUE__", str(index % 101))
            .replace("__MARKER__", marker(name))
        )
        (folder / f"{name}.py").write_text(source)
    return names


# -- measuring --------------------------------------------------------------


def mb(kb: int) -> float:
    return round(kb / 1024, 1)


async def sample(
    client: httpx.AsyncClient,
    pid: int,
    *,
    deep: bool = False,
    trim: bool = False,
    prune: bool = False,
) -> dict[str, Any]:
    """The process figures from /proc, then the server's own view of itself.

    ``prune`` and ``trim`` act first (see bench/projects/urls.py); with ``trim`` the
    RSS is the one the server read right after malloc_trim.
    """
    proc = proc_status(pid, ("VmRSS", "VmHWM", "Threads"))
    flags = (("deep", deep), ("trim", trim), ("prune", prune))
    params = {key: "1" for key, on in flags if on}
    stats = (await client.get("/_bench/stats", params=params, timeout=60)).json()
    result = {
        "rss_mb": mb(proc["VmRSS"]),
        "peak_rss_mb": mb(proc["VmHWM"]),
        "threads": proc["Threads"],
        "apps_loaded": stats["apps_loaded"],
        "kernel_sessions": stats["kernel_sessions"],
        "session_records": stats["session_records"],
        "sys_modules": stats["sys_modules"],
        **{
            key: stats[key]
            for key in ("live_objects", "gc_objects", "thread_names", "trim", "records_pruned")
            if key in stats
        },
    }
    if "trim" in stats:  # the server read it right after malloc_trim
        result["rss_mb"] = mb(stats["trim"]["rss_kb_after_trim"])
    return result


async def visit(
    client: httpx.AsyncClient, server: LiveServer, name: str, sockets: bool
) -> tuple[float, float]:
    """GET the page, then (with sockets) run its kernel to the last cell's output."""
    page = f"/apps/{name}/"
    started = time.monotonic()
    response = await client.get(page)
    if response.status_code != 200 or "marimo" not in response.text:
        raise RuntimeError(f"GET {page} answered {response.status_code}")
    got_page = time.monotonic()
    if sockets:
        session_id = "s_" + uuid.uuid4().hex[:10]
        async with KernelSocket.open(server, page, session_id) as kernel:
            await kernel.kernel_ready(timeout=60)
            await kernel.output_containing(marker(name), timeout=60)
    return got_page - started, time.monotonic() - got_page


async def visit_all(
    client: httpx.AsyncClient, server: LiveServer, names: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    gate = asyncio.Semaphore(args.concurrency)
    page_times: list[float] = []
    socket_times: list[float] = []
    errors: list[str] = []

    async def one(name: str) -> None:
        async with gate:
            try:
                page_s, socket_s = await visit(client, server, name, args.sockets)
            except Exception as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                return
            page_times.append(page_s)
            socket_times.append(socket_s)

    started = time.monotonic()
    await asyncio.gather(*(one(name) for name in names))
    seconds = time.monotonic() - started
    return {
        "seconds": round(seconds, 2),
        "visits_per_s": round(len(names) / seconds, 2),
        "failed": len(errors),
        "errors": errors[:10],
        "page_ms": latency(page_times),
        "socket_ms": latency(socket_times) if args.sockets else None,
    }


def latency(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered) * 1000, 1),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


async def measure(
    server: LiveServer, names: list[str], args: argparse.Namespace, evicting: bool
) -> dict[str, Any]:
    assert server.proc is not None
    pid = server.proc.pid
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        # Warm up: one full visit, then let its session run out.
        await visit(client, server, WARMUP, args.sockets)
        await wait_until(client, pid, args.session_ttl + 15, lambda s: s["kernel_sessions"] == 0)
        await asyncio.sleep(1)
        start = await sample(client, pid, deep=True)

        visits = await visit_all(client, server, names, args)
        # Throughput is only comparable on an otherwise idle machine.
        visits["loadavg_1min_after"] = round(os.getloadavg()[0], 2)
        after_visits = await sample(client, pid, deep=True)

        # Idle: sessions expire after session_ttl, apps after idle; give it a
        # few more seconds, then wait until the kernel threads are gone.
        tolerance = 2 + args.concurrency
        min_wait = args.idle + args.session_ttl + 3

        def settled(s: dict[str, Any]) -> bool:
            return (
                s["threads"] <= start["threads"] + tolerance
                and s["kernel_sessions"] == 0
                and (s["apps_loaded"] == 0 or not evicting)
            )

        waited, ok, timeline = await wait_until(
            client, pid, args.idle * 3 + 30, settled, min_wait=min_wait
        )
        after_idle = await sample(client, pid, deep=True)
        trimmed = await sample(client, pid, trim=True)
        pruned = await sample(client, pid, prune=True, trim=True, deep=True)
    return {
        "start": start,
        "visits": visits,
        "after_visits": after_visits,
        "idle_wait": {"seconds": waited, "settled": ok, "timeline": timeline},
        "after_idle": after_idle,
        "after_trim": {"rss_mb": trimmed["rss_mb"], "trim": trimmed["trim"]},
        "after_prune": pruned,
    }


async def wait_until(
    client: httpx.AsyncClient, pid: int, timeout: float, done: Any, *, min_wait: float = 0
) -> tuple[float, bool, list[dict[str, Any]]]:
    """Poll every second until ``done(sample)`` after ``min_wait`` s, or ``timeout``."""
    started = time.monotonic()
    timeline: list[dict[str, Any]] = []
    while True:
        elapsed = time.monotonic() - started
        current = await sample(client, pid)
        timeline.append(
            {"t": round(elapsed, 1)}
            | {key: current[key] for key in ("rss_mb", "threads", "apps_loaded", "kernel_sessions")}
        )
        if elapsed >= min_wait and done(current):
            return round(elapsed, 1), True, timeline
        if elapsed >= timeout:
            return round(elapsed, 1), False, timeline
        await asyncio.sleep(1)


def log_problems(log: str) -> dict[str, Any]:
    lines = log.splitlines()
    flagged = [
        line
        for line in lines
        if any(word in line for word in ("Traceback", "ERROR", "WARNING", "Error"))
    ]
    return {"lines": len(lines), "flagged": len(flagged), "first_flagged": flagged[:10]}


def run_server(
    label: str, idle_ttl: float, apps_dir: Path, names: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-directory-{label}-"))
    server = LiveServer(
        workdir,
        settings="bench.projects.settings",
        ready_path="/apps/",
        env={
            "BENCH_APPS_DIR": str(apps_dir),
            "BENCH_SESSION_TTL": str(args.session_ttl),
            "BENCH_APP_IDLE_TTL": str(idle_ttl),
        },
    )
    print(f"[{label}] migrating and starting daphne in {workdir} ...", flush=True)
    server.prepare()
    server.start()
    try:
        result = asyncio.run(measure(server, names, args, evicting=idle_ttl < CONTROL_IDLE_TTL))
    finally:
        stopped = time.monotonic()
        exit_code = server.stop(timeout=30)
        stop_seconds = round(time.monotonic() - stopped, 1)
    result["app_idle_ttl"] = idle_ttl
    result["shutdown"] = {"exit_code": exit_code, "seconds": stop_seconds}
    result["daphne_log"] = {"path": str(server.log_path), **log_problems(server.log())}
    print(
        f"[{label}] done: {result['visits']['visits_per_s']} visits/s, "
        f"RSS {result['start']['rss_mb']} -> {result['after_visits']['rss_mb']} -> "
        f"{result['after_idle']['rss_mb']} MB",
        flush=True,
    )
    return result


# -- reporting --------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    args = report["args"]
    runs = report["runs"]
    heads = {
        "evict": f"evict (idle {args['idle']:g} s)",
        "control": f"control (idle {CONTROL_IDLE_TTL:g} s)",
    }

    def live(run: dict[str, Any], point: str, name: str) -> Any:
        return run[point].get("live_objects", {}).get(name, "?")

    rows: list[tuple[str, Any]] = [
        ("notebooks (N)", lambda r: args["notebooks"]),
        ("visits/s", lambda r: r["visits"]["visits_per_s"]),
        ("visit failures", lambda r: r["visits"]["failed"]),
        ("load avg (1 min) after visits", lambda r: r["visits"]["loadavg_1min_after"]),
        ("page ms median/p95", lambda r: ms_pair(r["visits"]["page_ms"])),
        ("socket ms median/p95", lambda r: ms_pair(r["visits"]["socket_ms"])),
        ("RSS start (MB)", lambda r: r["start"]["rss_mb"]),
        ("RSS after visits (MB)", lambda r: r["after_visits"]["rss_mb"]),
        ("RSS after idle (MB)", lambda r: r["after_idle"]["rss_mb"]),
        ("RSS after gc+malloc_trim (MB)", lambda r: r["after_trim"]["rss_mb"]),
        ("RSS after record prune+trim (MB)", lambda r: r["after_prune"]["rss_mb"]),
        ("peak RSS (MB)", lambda r: r["after_idle"]["peak_rss_mb"]),
        ("threads start", lambda r: r["start"]["threads"]),
        ("threads after visits", lambda r: r["after_visits"]["threads"]),
        ("threads after idle", lambda r: r["after_idle"]["threads"]),
        (
            "apps loaded visits/idle",
            lambda r: f"{r['after_visits']['apps_loaded']} / {r['after_idle']['apps_loaded']}",
        ),
        (
            "live MarimoApp visits/idle/prune",
            lambda r: " / ".join(
                str(live(r, point, "MarimoApp"))
                for point in ("after_visits", "after_idle", "after_prune")
            ),
        ),
        (
            "live SessionImpl visits/idle",
            lambda r: (
                f"{live(r, 'after_visits', 'SessionImpl')} / {live(r, 'after_idle', 'SessionImpl')}"
            ),
        ),
        (
            "session records visits/idle",
            lambda r: (
                f"{r['after_visits']['session_records']} / {r['after_idle']['session_records']}"
            ),
        ),
        (
            "sys.modules start/idle",
            lambda r: f"{r['start']['sys_modules']} / {r['after_idle']['sys_modules']}",
        ),
        (
            "idle wait (s), settled",
            lambda r: f"{r['idle_wait']['seconds']:g}, {r['idle_wait']['settled']}",
        ),
    ]
    columns = [name for name in ("evict", "control") if name in runs]
    width = 34
    lines = [
        f"directory memory: {args['notebooks']} notebooks, sockets "
        f"{'on' if args['sockets'] else 'off'}, session TTL {args['session_ttl']} s, "
        f"concurrency {args['concurrency']}, {os.cpu_count()} CPUs",
        f"{'':{width}}" + "".join(f"{heads[c]:>26}" for c in columns),
    ]
    for label, getter in rows:
        lines.append(f"{label:{width}}" + "".join(f"{getter(runs[c])!s:>26}" for c in columns))
    return "\n".join(lines)


def ms_pair(figures: dict[str, float] | None) -> str:
    return "-" if not figures else f"{figures['median']:g} / {figures['p95']:g}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.directory_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--notebooks", type=int, default=300, help="N notebooks (300)")
    parser.add_argument("--idle", type=float, default=10, help="APP_IDLE_TTL, seconds (10)")
    parser.add_argument("--session-ttl", type=int, default=2, help="SESSION_TTL, seconds (2)")
    parser.add_argument(
        "--sockets",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open each notebook's kernel websocket too (default on)",
    )
    parser.add_argument(
        "--control",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"also run with APP_IDLE_TTL={CONTROL_IDLE_TTL:g}, no eviction (default on)",
    )
    parser.add_argument("--concurrency", type=int, default=4, help="visits in flight (4)")
    parser.add_argument("--quick", action="store_true", help="smoke test: N=10, idle 2 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.notebooks, args.idle = 10, 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import marimo

    report: dict[str, Any] = {
        "benchmark": "directory_memory",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.directory_memory", *sys.argv[1:]]),
        "args": vars(args),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "marimo": marimo.__version__,
            "platform": platform.platform(),
        },
        "runs": {},
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as folder:
        apps_dir = Path(folder)
        names = write_notebooks(apps_dir, args.notebooks)
        report["runs"]["evict"] = run_server("evict", args.idle, apps_dir, names, args)
        if args.control:
            report["runs"]["control"] = run_server(
                "control", CONTROL_IDLE_TTL, apps_dir, names, args
            )
    report["total_seconds"] = round(time.monotonic() - started, 1)

    RESULTS_DIR.mkdir(exist_ok=True)
    day = datetime.date.today().isoformat()
    out = RESULTS_DIR / f"directory-memory-{day}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(table(report))
    shown = os.path.relpath(out)
    print(f"\ntotal {report['total_seconds']:g} s; figures written to {shown}")
    failed = sum(run["visits"]["failed"] for run in report["runs"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
