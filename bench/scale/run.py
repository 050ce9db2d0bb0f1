"""Start each server kind, drive it from the load clients, report side by side.

Server kinds run one after another, each stopped before the next starts, so
each has the machine's cores to itself (as on a machine of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.compare.plan import FULL, RESULTS_DIR, Plan
from bench.compare.servers import read_token, sign_in
from bench.scale.load import Job, client_main
from bench.stats import summary
from devtools.cluster import Cluster
from devtools.live import SERVER_ENV, SERVERS
from devtools.procfs import OtherLoad, process_tree, scan_processes
from devtools.redis import binary as redis_binary
from devtools.targets import PlainMarimo, Target

HOST, PATCH, PLAIN = "notebook_host", "plain_patch", "plain_marimo"
KINDS = (HOST, PATCH, PLAIN)


@dataclass(frozen=True)
class Size:
    """Defaults sized for a 2-core machine, with a change phase long enough for CPU ticks."""

    fronts: int = 1
    workers: int = 2
    sticky: int = 2
    sessions: int = 50
    clients: int = 2
    changes: int = 20


#: The issue's names for the sizes, in a file name: f2-w4-k2-n100-p2-c20.
LETTERS = {
    "fronts": "f",
    "workers": "w",
    "sticky": "k",
    "sessions": "n",
    "clients": "p",
    "changes": "c",
}
TINY = Size(fronts=1, workers=1, sticky=1, sessions=4, clients=2, changes=3)


@dataclass
class Servers:
    """One server kind, started: where each session goes and whose CPU counts."""

    sockets: list[Target]  # session s opens its socket on sockets[s % len]
    posts: list[Target]  # and POSTs to posts[s % len]
    processes: dict[str, list[int]]  # process kind -> root pids
    label: str


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "es" if noun.endswith("s") else "s")


def cpu_by_kind(processes: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (utime + stime) used so far by each kind's processes and their children."""
    table, ticks = scan_processes(), os.sysconf("SC_CLK_TCK")
    return {
        kind: sum(table[p][1] for root in roots for p in process_tree(root, table) if p in table)
        / ticks
        for kind, roots in processes.items()
    }


def served_by(server: str) -> str:
    """The label's note of a front server other than the default."""
    return "" if server == "daphne" else f" ({server})"


@contextlib.contextmanager
def cluster(workdir: Path, size: Size) -> Iterator[Servers]:
    """F daphne fronts and W workers on Redis; a session's POSTs go to the next front."""
    running = Cluster(
        workdir,
        layer="pubsub",
        settings="bench.projects.cluster_settings",
        ready_path="/accounts/login/",
    )
    running.extra_env.update(
        {"NOTEBOOK_HOST_REDIS_URL": running.redis.url, "NOTEBOOK_HOST_LAYER": "pubsub"}
    )
    try:
        running.start(fronts=size.fronts, workers=size.workers)
        fronts = [Target(f.name, f.port, f.proc.pid) for f in running.fronts if f.proc]
        asyncio.run(sign_in(fronts[0]))  # alice's cookie is good on every front
        for front in fronts:
            front.cookies = fronts[0].cookies
            asyncio.run(read_token(front))
        assert running.redis.proc is not None
        yield Servers(
            sockets=fronts,
            posts=fronts[1:] + fronts[:1],
            processes={
                "fronts": [t.pid for t in fronts],
                "workers": [w.proc.pid for w in running.workers if w.proc],
                "redis": [running.redis.proc.pid],
            },
            label=f"notebook_host, {count(size.fronts, 'front')} + {count(size.workers, 'worker')}"
            + served_by(running.fronts[0].server),
        )
    finally:
        running.stop()


@contextlib.contextmanager
def marimo(workdir: Path, count: int, env: dict[str, str], label: str) -> Iterator[Servers]:
    """``count`` plain marimo processes under uvicorn; session s stays on process s mod count."""
    processes = [PlainMarimo(workdir / f"marimo{i}", env) for i in range(count)]
    try:
        for process in processes:
            process.workdir.mkdir(parents=True)
            process.launch()
        targets = []
        for i, process in enumerate(processes):
            process.wait_ready(timeout=180)
            assert process.proc is not None
            targets.append(Target(f"marimo{i}", process.port, process.proc.pid))
            asyncio.run(read_token(targets[-1]))
        yield Servers(targets, targets, {"marimo": [t.pid for t in targets]}, label)
    finally:
        for process in processes:
            process.stop()


def load(servers: Servers, size: Size, plan: Plan) -> dict[str, Any]:
    """N sessions from P client processes; CPU and wall time across the change phase."""
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(size.clients + 1), context.Queue()
    jobs = [Job([], [], plan) for _ in range(size.clients)]
    for s in range(size.sessions):
        jobs[s % size.clients].sockets.append(servers.sockets[s % len(servers.sockets)])
        jobs[s % size.clients].posts.append(servers.posts[s % len(servers.posts)])
    clients = [context.Process(target=client_main, args=(job, barrier, queue)) for job in jobs]
    for client in clients:
        client.start()
    try:
        barrier.wait(plan.round_timeout + 60)  # every session up (or failed)
        before, started = cpu_by_kind(servers.processes), time.monotonic()
        barrier.wait(plan.round_timeout + 60)  # every change seen
        after, wall = cpu_by_kind(servers.processes), time.monotonic() - started
        outcomes = [o for _ in clients for o in queue.get(timeout=120)]
    finally:
        barrier.abort()
        for client in clients:
            client.join(30)
            if client.is_alive():
                client.terminate()
    latencies = [v for o in outcomes for v in o["latencies_ms"]]
    ok = len(latencies)
    cpu = {kind: after[kind] - before[kind] for kind in before}
    errors: dict[str, int] = {}
    for outcome in outcomes:
        if outcome["error"]:
            errors[outcome["error"]] = errors.get(outcome["error"], 0) + 1
    return {
        "label": servers.label,
        "sessions": size.sessions,
        "sessions_up": sum(o["start_ms"] is not None for o in outcomes),
        "changes_planned": size.sessions * size.changes,
        "changes_ok": ok,
        "change_phase_s": round(wall, 2),
        "changes_per_s": round(ok / wall, 1) if ok else None,
        "change_ms": summary(latencies),
        "start_ms": summary([o["start_ms"] for o in outcomes if o["start_ms"] is not None]),
        "cpu_s": {kind: round(seconds, 2) for kind, seconds in cpu.items()},
        "cpu_ms_per_change": {
            kind: round(1000 * seconds / ok, 2) if ok else None
            for kind, seconds in {**cpu, "total": sum(cpu.values())}.items()
        },
        "errors": errors,
    }


def ms(figures: dict[str, Any], key: str) -> str:
    value = figures.get(key)
    return "" if value is None else f"{value:,.0f}"


def table(results: dict[str, dict[str, Any]]) -> str:
    """Figures down, server kinds across."""
    kinds = sorted({k for r in results.values() for k in r["cpu_ms_per_change"]} - {"total"})
    rows: list[tuple[str, Any]] = [
        ("changes/s", lambda r: r["changes_per_s"]),
        (
            "change p50 / p95 ms",
            lambda r: f"{ms(r['change_ms'], 'p50')} / {ms(r['change_ms'], 'p95')}",
        ),
        ("session start p50 ms", lambda r: ms(r["start_ms"], "p50")),
        ("changes ok", lambda r: f"{r['changes_ok']} / {r['changes_planned']}"),
        *((f"CPU ms/change: {k}", lambda r, k=k: r["cpu_ms_per_change"].get(k, "")) for k in kinds),
        ("CPU ms/change: all servers", lambda r: r["cpu_ms_per_change"]["total"]),
    ]
    lines = ["| | " + " | ".join(r["label"] for r in results.values()) + " |"]
    lines.append("|---" * (len(results) + 1) + "|")
    for name, cell in rows:
        lines.append(f"| {name} | " + " | ".join(str(cell(r)) for r in results.values()) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench.scale import __doc__ as doc

    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    for flag, help_ in (
        ("fronts", "fronts (F)"),
        ("workers", "notebook_worker processes (W)"),
        ("sticky", "plain + patch processes, sticky (K)"),
        ("sessions", "sessions per server kind (N)"),
        ("clients", "load-client processes (P)"),
        ("changes", "widget changes per session (C)"),
    ):
        parser.add_argument(f"--{flag}", type=int, default=getattr(Size(), flag), help=help_)
    parser.add_argument("--tiny", action="store_true", help=f"smoke run: {TINY}")
    parser.add_argument("--only", default=",".join(KINDS), help=f"a subset of {','.join(KINDS)}")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--server", choices=SERVERS, default="daphne", help="the fronts' ASGI server"
    )
    args = parser.parse_args(argv)
    os.environ[SERVER_ENV] = args.server  # the cluster's fronts
    size = TINY if args.tiny else Size(**{f: getattr(args, f) for f in Size().__dict__})
    only = [kind for kind in KINDS if kind in args.only.split(",")]
    plan = replace(FULL, changes=size.changes, change_timeout=60, round_timeout=600)
    redis_binary()  # a clear error before anything starts
    started, results = time.monotonic(), {}
    with (
        tempfile.TemporaryDirectory(prefix="notebook-host-bench-scale-") as folder,
        OtherLoad(started) as other,  # other people's processes on a shared machine
    ):
        workdir = Path(folder)
        servers = {
            HOST: lambda: cluster(workdir / HOST, size),
            PATCH: lambda: marimo(
                workdir / PATCH,
                size.sticky,
                {"BENCH_ENTRY_POINTS_ONCE": "1"},
                f"plain + patch, {count(size.sticky, 'process')}, sticky",
            ),
            PLAIN: lambda: marimo(workdir / PLAIN, 1, {}, "plain marimo, 1 process"),
        }
        for kind in only:
            other.phase(kind)
            with servers[kind]() as running:
                results[kind] = load(running, size, plan)
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "size": size.__dict__,
        "server": args.server,
        "cpus": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
        "other_load": other.report(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.date.today().isoformat()}-scale"
    if args.tiny or size != Size():  # a bigger run does not overwrite the default one
        stem += (
            "-tiny"
            if args.tiny
            else "-" + "-".join(f"{LETTERS[k]}{v}" for k, v in size.__dict__.items())
        )
    if args.server != "daphne":
        stem += f"-{args.server}"
    path = args.out / f"{stem}.json"
    path.write_text(json.dumps(report, indent=1))
    print(table(results))
    print(f"wrote {path} in {report['seconds']} s")
    return 0
