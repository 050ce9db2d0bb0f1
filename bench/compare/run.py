"""Both servers started once, every job run on each, and the command line."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import spy
from bench.compare.page_load import Browser, page_loads
from bench.compare.plan import (
    DESCRIPTION,
    FULL,
    HOST,
    OTHER_LOAD_WARNING,
    PLAIN,
    RESULTS_DIR,
    SCREENS_DIR,
    SERVERS,
    TINY,
    Plan,
)
from bench.compare.protocol import concurrent_round, post_round_trips
from bench.compare.report import build_summary, combine, label, plot, table, targets_met
from bench.compare.servers import read_token, sign_in
from bench.compare.slider import slider
from bench.compare.transfer import transferred
from devtools import screens
from devtools.client import (
    DASHBOARD,
)
from devtools.live import (
    ROOT,
    LiveServer,
)
from devtools.procfs import OtherLoad, cpu_seconds
from devtools.targets import PlainMarimo, Target

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
        settings="bench.projects.compare_settings",
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
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=DESCRIPTION)
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
            HOST: "daphne, bench.projects.compare_settings (the demo without its per-user "
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
