"""Kernels in worker processes against local kernels and plain marimo, on this machine.

    python -m bench.cluster [--tiny] [--layer pubsub|core] [--out DIR]

Starts, in one run: (a) plain marimo ``create_asgi_app()`` under uvicorn
(devtools/plain_marimo.py), and again with notebook_host's entry-point patch
alone (docs/performance.md), (b) the demo under one daphne with local kernels
(bench/projects/compare_settings.py), (c) the demo with KERNELS = "workers": 2 daphne
fronts behind nginx (round robin) and 1 worker, then (d) the same with 2
workers (devtools/serve_cluster.py with bench/projects/cluster_settings.py, a
throwaway redis-server). Each is measured with bench/compare/'s own
functions: POST round trip p50 (set_ui_element_value, the next one waits for
the output), then N = 20, 50, 100 concurrent sessions making K = 20 widget
changes each, all at once (changes/s, change latency p50/p95, session start =
first output p50), server CPU seconds and RSS per session (the whole process
tree: fronts, workers, Redis and nginx included), the slider p50 in
Chromium, and one session's change p50 quiet and while another session's
cell spins for 20 s (bench/notebooks/busy.py; with 2 workers, on the other
worker). Prints a table and writes bench/results/<date>-cluster[-tiny].json.
``--tiny`` (N=2, 3 samples) runs in the test suite so this cannot rot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import websockets

from bench.compare.page_load import Browser
from bench.compare.plan import FULL, RESULTS_DIR, TINY, Plan
from bench.compare.protocol import concurrent_round, post_round_trips
from bench.compare.servers import read_token, sign_in
from bench.compare.slider import slider
from bench.stats import summary as stats_summary
from devtools.client import (
    DASHBOARD,
    SLIDER_LABEL,
    api_headers,
    marker,
    new_session_id,
    next_value,
    set_value,
)
from devtools.live import (
    ROOT,
    SERVER_ENV,
    SERVERS,
    LiveServer,
    free_port,
    read_log,
    server_token,
    stop_process,
)
from devtools.procfs import cpu_seconds, process_tree
from devtools.redis import binary as redis_binary
from devtools.targets import PlainMarimo, Target

PLAIN, LOCAL, ONE, TWO = "plain_marimo", "local_kernels", "workers_1", "workers_2"
#: Plain marimo with notebook_host's entry-point patch alone: it shows how much
#: of a figure is that patch (it speeds every kernel) and how much the cores.
PATCHED = "plain_marimo_patched"
TARGETS = (PLAIN, PATCHED, LOCAL, ONE, TWO)


class ClusterProcess:
    """devtools/serve_cluster.py in a child process: its tree is the whole cluster."""

    def __init__(self, workdir: Path, workers: int, layer: str) -> None:
        self.workdir = workdir
        self.workers = workers
        self.layer = layer
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "cluster.log"

    def start(self, timeout: float = 180) -> ClusterProcess:
        prep = LiveServer(self.workdir, settings="bench.projects.cluster_settings")
        prep.prepare()  # migrate, test users (alice)
        env = {
            **prep.environ(),
            "NOTEBOOK_HOST_CLUSTER_PORT": str(self.port),
            "NOTEBOOK_HOST_CLUSTER_SETTINGS": "bench.projects.cluster_settings",
            "NOTEBOOK_HOST_CLUSTER_WORKERS": str(self.workers),
            "NOTEBOOK_HOST_LAYER": self.layer,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.serve_cluster"],
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while "Serving the demo at" not in read_log(self.log_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cluster did not start:\n{read_log(self.log_path)[-3000:]}")
            time.sleep(0.3)
        return self

    def stop(self) -> int | None:
        return stop_process(self.proc, timeout=30)

    def logs_folder(self) -> Path | None:
        """The fronts' and workers' log folder devtools/serve_cluster.py printed."""
        found = re.search(r"logs in (\S+?)\. Ctrl-C", read_log(self.log_path))
        return Path(found.group(1)) if found else None


BUSY = "/busy/"
#: Seconds the busy-loop notebook spins (bench/notebooks/busy.py), all on one thread.
SPIN_SECONDS = 20
TINY_SPIN_SECONDS = 3
#: This benchmark's plan: one run, N = 20, 50, 100 (bench/compare/'s own
#: plan interleaves 3 runs of N = 100 only).
CLUSTER = replace(FULL, runs=1, slider_moves=60, posts=150, sessions=(20, 50, 100))


async def changes(
    client: Any, target: Target, kernel: Any, session: str, object_id: str, plan: Plan
) -> list[float]:
    """``plan.changes`` dashboard changes of one session: POST, then its output; ms each."""
    latencies: list[float] = []
    for i in range(plan.changes):
        value = next_value(i)
        kernel.outputs.clear()
        start = time.perf_counter()
        response = await set_value(
            client, DASHBOARD, target.api_headers(session), object_id, value, []
        )
        if response.status_code != 200:
            raise RuntimeError(f"POST {response.status_code} {response.text[:100]}")
        await kernel.output_containing(marker(value), timeout=plan.change_timeout)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


async def busy_round(
    target: Target, plan: Plan, placement: Callable[[str], str], spread: bool
) -> dict:
    """One session's change p50, quiet and while another session's cell spins.

    With ``spread`` the busy session is opened until it lands on a worker
    other than the probe's (``placement`` reads where a session went; "" with
    local kernels); then its cell spins for SPIN_SECONDS on its kernel's thread.
    """
    spin = TINY_SPIN_SECONDS if plan is TINY else SPIN_SECONDS
    probe = new_session_id()
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(target.client())
        kernel = await stack.enter_async_context(target.socket(DASHBOARD, probe))
        await kernel.output_containing(marker(10), timeout=60)
        knob = kernel.object_id(SLIDER_LABEL)
        quiet = await changes(client, target, kernel, probe, knob, plan)
        probe_on = placement(probe)
        for _ in range(4):
            busy = new_session_id()
            spinner = await stack.enter_async_context(target.socket(BUSY, busy))
            await spinner.output_containing("spun 0 s", timeout=60)
            busy_on = placement(busy)
            if not spread or busy_on != probe_on:
                break
        page = await client.get(BUSY)  # its own server token (a hash of its code)
        page.raise_for_status()
        response = await set_value(
            client,
            BUSY,
            api_headers(target.url, busy, server_token(page.text)),
            spinner.object_id("Spin seconds"),
            spin,
            [],
        )
        assert response.status_code == 200, response.text
        await asyncio.sleep(0.5)  # the cell is running now
        started = time.monotonic()
        loaded = await changes(client, target, kernel, probe, knob, plan)
        within = time.monotonic() - started < spin - 0.5
        await spinner.output_containing(f"spun {spin} s", timeout=spin + 30)
    return {
        "quiet_ms": stats_summary(quiet),
        "busy_ms": stats_summary(loaded),
        "probe_worker": probe_on,
        "busy_worker": busy_on,
        "measured_while_spinning": within,
    }


def worker_pid(root: int, name: str) -> int | None:
    """The pid of ``notebook_worker --name <name>`` in the cluster's process tree."""
    for pid in process_tree(root):
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"notebook_worker" in words and name.encode() in words:
            return pid
    return None


async def kill_round(target: Target, plan: Plan, placement: Callable[[str], str]) -> dict:
    """Tabs whose worker is killed with SIGKILL: ms until each shows its value again.

    Each tab sets the slider, then one worker is killed; a tab on it sees its
    socket close (4510), reconnects with the same session id as marimo's page
    does, and is timed from the kill to its value's output on the fresh kernel
    (replayed, docs/scaling.md) on the other worker.
    """
    count = 2 if plan is TINY else 12
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(target.client())
        tabs = []
        for index in range(count):
            session = new_session_id()
            kernel = await stack.enter_async_context(target.socket(DASHBOARD, session))
            await kernel.output_containing(marker(10), timeout=60)
            value, slider_id = next_value(index + 3), kernel.object_id(SLIDER_LABEL)
            kernel.outputs.clear()
            response = await set_value(
                client, DASHBOARD, target.api_headers(session), slider_id, value, []
            )
            assert response.status_code == 200, response.text
            await kernel.output_containing(marker(value), timeout=plan.change_timeout)
            tabs.append((session, value, kernel))
        victim = placement(tabs[0][0])
        pid = worker_pid(target.pid, victim)
        assert pid is not None, f"no process for worker {victim!r}"
        on_victim = [tab for tab in tabs if placement(tab[0]) == victim]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()

        async def restored(session: str, value: int, kernel: Any) -> float:
            await kernel.closed_with(timeout=60)
            while True:  # as marimo's page: after a close with a reason, connect again
                try:
                    async with target.socket(DASHBOARD, session) as again:
                        await again.output_containing(marker(value), timeout=60)
                        return (time.monotonic() - killed) * 1000
                except websockets.ConnectionClosed:
                    assert time.monotonic() - killed < 120, f"{session} never came back"
                    await asyncio.sleep(0.5)

        times = await asyncio.gather(*(restored(*tab) for tab in on_victim))
    return {"worker": victim, "sessions": len(on_victim), "restored_ms": stats_summary(list(times))}


def log_placement(folder_of: Callable[[], Path | None]) -> Callable[[str], str]:
    """Where a session was placed, from the fronts' "placed on worker" log lines."""

    def placement(session_id: str) -> str:
        folder = folder_of()
        if folder is None:
            return ""
        needle = f"Session {session_id} placed on worker "
        for log in folder.glob("front*.log"):
            for line in read_log(log).splitlines():
                if needle in line:
                    return line.rsplit(" ", 1)[-1]
        return ""

    return placement


async def measure(
    target: Target,
    plan: Plan,
    browser: Browser,
    signed_in: bool,
    placement: Callable[[str], str] = lambda _: "",
    spread: bool = False,
) -> dict:
    if signed_in:
        await sign_in(target)
    await read_token(target)
    results: dict[str, Any] = {"slider": await slider(browser, target, plan)}
    results["post"] = await post_round_trips(target, plan)
    results["busy"] = await busy_round(target, plan, placement, spread)
    results["rounds"] = []
    for n in plan.sessions:
        before = cpu_seconds(target.pid)
        round_ = await concurrent_round(target, n, plan)
        round_["cpu_s_per_session"] = round((cpu_seconds(target.pid) - before) / n, 3)
        results["rounds"].append(round_)
    return results


def summary(results: dict[str, Any]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "slider_p50_ms": results["slider"].get("p50"),
        "post_p50_ms": results["post"].get("p50"),
        "busy_other_change_p50_ms": results["busy"]["busy_ms"].get("p50"),
        "quiet_change_p50_ms": results["busy"]["quiet_ms"].get("p50"),
    }
    for round_ in results["rounds"]:
        n = round_["sessions"]
        figures[f"n{n}_changes_per_s"] = round_["changes_per_s"]
        figures[f"n{n}_change_p50_ms"] = round_["change_ms"].get("p50")
        figures[f"n{n}_change_p95_ms"] = round_["change_ms"].get("p95")
        figures[f"n{n}_success_rate"] = round_["success_rate"]
        figures[f"n{n}_start_p50_ms"] = round_["first_output_ms"].get("p50")
        figures[f"n{n}_cpu_s_per_session"] = round_["cpu_s_per_session"]
        figures[f"n{n}_rss_mb_per_session"] = round_["rss_per_session_mb"]
    if "kill" in results:  # a worker killed under its tabs: kill -> value shown again
        figures["kill_restored_p50_ms"] = results["kill"]["restored_ms"].get("p50")
        figures["kill_restored_p95_ms"] = results["kill"]["restored_ms"].get("p95")
    return figures


def table(summaries: dict[str, dict[str, Any]]) -> str:
    names = list(summaries)
    keys = list(next(iter(summaries.values())))
    lines = ["| figure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for key in keys:
        cells = [str(summaries[n].get(key, "")) for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(workdir: Path, plan: Plan, layer: str, only: set[str]) -> dict[str, Any]:
    """Start each target in turn, measure it, stop it."""
    results: dict[str, Any] = {}

    async def one(
        target: Target,
        signed_in: bool,
        placement: Callable[[str], str] = lambda _: "",
        spread: bool = False,
    ) -> dict:
        async with Browser(plan) as browser:
            return await measure(target, plan, browser, signed_in, placement, spread)

    for name, env in ((PLAIN, {}), (PATCHED, {"BENCH_ENTRY_POINTS_ONCE": "1"})):
        if name not in only:
            continue
        (workdir / name).mkdir()
        plain = PlainMarimo(workdir / name, env)
        plain.launch()
        try:
            plain.wait_ready()
            assert plain.proc is not None
            results[name] = asyncio.run(one(Target(name, plain.port, plain.proc.pid), False))
        finally:
            plain.stop()
    if LOCAL in only:
        (workdir / "local").mkdir()
        local = LiveServer(
            workdir / "local",
            settings="bench.projects.compare_settings",
            ready_path="/accounts/login/",
        )
        try:
            local.prepare()
            local.start()
            assert local.proc is not None
            results[LOCAL] = asyncio.run(one(Target(LOCAL, local.port, local.proc.pid), True))
        finally:
            local.stop()
    for name, workers in ((ONE, 1), (TWO, 2)):
        if name not in only:
            continue
        (workdir / name).mkdir()
        cluster = ClusterProcess(workdir / name, workers, layer)
        try:
            cluster.start()
            assert cluster.proc is not None
            target = Target(name, cluster.port, cluster.proc.pid)
            placement = log_placement(cluster.logs_folder)
            results[name] = asyncio.run(one(target, True, placement, spread=workers > 1))
            if workers > 1:
                results[name]["kill"] = asyncio.run(kill_round(target, plan, placement))
            partial = workdir.parent / f"{workdir.name}-partial.json"
            partial.write_text(json.dumps(results, default=str))  # survives a later failure
        finally:
            results.setdefault("exit_codes", {})[name] = cluster.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke run: N=2, 3 samples")
    parser.add_argument("--layer", choices=("pubsub", "core"), default="pubsub")
    parser.add_argument(
        "--server", choices=SERVERS, default="daphne", help="the ASGI server of notebook_host"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--only", default=",".join(TARGETS), help=f"comma-separated subset of {', '.join(TARGETS)}"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if not only <= set(TARGETS):
        parser.error(f"--only takes {', '.join(TARGETS)}, got {args.only!r}")
    redis_binary()  # a clear error before anything starts
    os.environ[SERVER_ENV] = args.server  # every LiveServer and front, children included
    plan = TINY if args.tiny else CLUSTER
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="notebook-host-bench-cluster-") as folder:
        results = run(Path(folder), plan, args.layer, only)
    summaries = {n: summary(r) for n, r in results.items() if n != "exit_codes"}
    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "layer": args.layer,
        "server": args.server,
        "plan": plan.__dict__,
        "cpus": os.cpu_count(),
        "seconds": round(time.monotonic() - started, 1),
        "summary": summaries,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.date.today().isoformat()}-cluster-{args.layer}" + (
        "-tiny" if args.tiny else ""
    )
    if args.server != "daphne":
        stem += f"-{args.server}"
    if only != set(TARGETS):
        stem += "-" + "-".join(sorted(only))
    path = args.out / f"{stem}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(table(summaries))
    print(f"wrote {path} in {report['seconds']} s")
    failed = [
        n
        for n, s in summaries.items()
        if any(v is not None and k.endswith("success_rate") and v < 1 for k, v in s.items())
    ]
    if failed:
        print(f"sessions failed on: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
