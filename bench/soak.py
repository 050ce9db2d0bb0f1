"""Load and soak test: simulated users open, use and close dashboard tabs for minutes.

    python -m bench.soak [--duration 300] [--users 100] [--visit 30] [--think 3]
                         [--warmup 60] [--session-ttl 5] [--short] [--out DIR]

Starts the demo project (bench/projects/soak_settings.py: project.settings with a short
SESSION_TTL, DEBUG off) under a real daphne, as devtools.live.LiveServer does, and
signs in ``--users`` demo users (soak000, soak001, ...), each through Django's
login view into its own cookie jar. Each user is a browser: one httpx client
(cookies, keep-alive connections) for the page, the kernel websocket (its
Cookie header from the same jar, an ``Origin`` header) and the API calls. In a
loop, each user opens a tab of the dashboard (page GET, websocket
``/dashboard/ws?session_id=...``, the kernel's first outputs), moves its slider
(``POST set_ui_element_value``, then the dependent output on the socket), pauses
about ``--think`` seconds between changes, and closes the tab after about
``--visit`` seconds. Users start ``visit/users`` seconds apart, so tabs open and
close at a steady rate of about users/visit per second with at most ``--users``
live at once.

Phases: warm-up (the same load for ``--warmup`` s), then idle until the session
TTL has passed and the thread count is steady: the *baseline* (threads, RSS).
Then the soak (``--duration`` s), then idle again. Every ``--sample`` s a thread
reads VmRSS and Threads from /proc/<pid>/status of the daphne process.

Checks (PASS/FAIL each; exit status 1 when any fails): no 5xx answer (HTTP or
websocket handshake, and no "Internal Server Error" in the server log), no
client error (refused or dropped socket, missing output, timeout), every user
served at least one whole tab, threads back to the baseline once the TTLs have
passed, no kernel session or marimo kernel object left (the server's own
/_bench/stats probe, bench/probe.py, mounted by bench/projects/soak_urls.py), RSS
within 10 % of the baseline. Writes bench/results/soak-<date>.json
(``-short`` with --short, the smoke version ``make test`` runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.stats import summary
from devtools.client import (
    DASHBOARD,
    SLIDER_LABEL,
    api_headers,
    kernel_socket,
    marker,
    new_session_id,
    next_value,
    set_value,
)
from devtools.live import ROOT, LiveServer, cookie_header, login, server_token
from devtools.procfs import OtherLoad, proc_status
from devtools.soak_plan import (
    Plan,
    checks,
    log_problems,
    parse_args,
)
from devtools.users import PASSWORD

SETTINGS = "bench.projects.soak_settings"
USERNAME = "soak{:03d}"


class HttpStatusError(Exception):
    """An HTTP answer other than the one a browser expects."""


@dataclass
class Tally:
    """What the simulated users saw during one phase."""

    visits: int = 0  # tabs started (page requested)
    sessions_opened: int = 0  # kernel's first outputs seen
    sessions_served: int = 0  # tab closed after its visit, no error
    changes: int = 0  # widget changes whose output arrived
    live: int = 0  # tabs with a live kernel socket now
    peak_live: int = 0
    post_retries: int = 0
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"page": [], "open": [], "post": [], "change": []}
    )
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    status_5xx: Counter[str] = field(default_factory=Counter)

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{kind}: {detail[:300]}")

    def answer(self, what: str, response: httpx.Response) -> None:
        """Count a 5xx; raise on anything but 200."""
        if response.status_code >= 500:
            self.status_5xx[f"{what} {response.status_code}"] += 1
        if response.status_code != 200:
            raise HttpStatusError(f"{what} {response.status_code}: {response.text[:200]}")

    def opened(self) -> None:
        self.sessions_opened += 1
        self.live += 1
        self.peak_live = max(self.peak_live, self.live)

    def report(self, wall: float) -> dict[str, Any]:
        return {
            "wall_s": round(wall, 1),
            "visits": self.visits,
            "sessions_opened": self.sessions_opened,
            "sessions_served": self.sessions_served,
            "changes": self.changes,
            "changes_per_s": round(self.changes / wall, 1) if wall else None,
            "sessions_per_s": round(self.sessions_opened / wall, 2) if wall else None,
            "peak_live_sessions": self.peak_live,
            "post_retries": self.post_retries,
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
            "error_samples": self.error_samples,
            "responses_5xx": sum(self.status_5xx.values()),
            "responses_5xx_by_kind": dict(self.status_5xx),
            "latency_ms": {name: summary(values) for name, values in self.latencies.items()},
        }


def elapsed_ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


class User:
    """One simulated browser: its own cookie jar and connections."""

    def __init__(self, server: LiveServer, username: str, plan: Plan, rng: random.Random) -> None:
        self.server = server
        self.username = username
        self.plan = plan
        self.rng = rng
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        self.client = httpx.AsyncClient(
            base_url=server.url, timeout=plan.open_timeout, limits=limits
        )

    async def sign_in(self) -> None:
        await login(self.client, self.username, PASSWORD)

    async def close(self) -> None:
        await self.client.aclose()

    async def visit(self, until: float, tally: Tally) -> None:
        """One tab: load the page, open its kernel, move the slider until ``until``."""
        plan, url = self.plan, self.server.url
        session = new_session_id()
        tally.visits += 1
        start = time.perf_counter()
        page = await self.client.get(DASHBOARD)
        tally.answer("page GET", page)
        tally.latencies["page"].append(elapsed_ms(start))
        token = server_token(page.text)
        start = time.perf_counter()
        async with kernel_socket(
            self.server.ws_url,
            DASHBOARD,
            session,
            origin=url,
            cookies=cookie_header(self.client),
            open_timeout=plan.open_timeout,
        ) as kernel:
            await kernel.output_containing(marker(10), timeout=plan.open_timeout)
            tally.latencies["open"].append(elapsed_ms(start))
            tally.opened()
            try:
                object_id = kernel.object_id(SLIDER_LABEL)
                headers = api_headers(url, session, token)
                retries: list[int] = []
                i = 0
                while time.monotonic() < until:
                    value = next_value(i)
                    kernel.outputs.clear()
                    start = time.perf_counter()
                    response = await set_value(
                        self.client, DASHBOARD, headers, object_id, value, retries
                    )
                    tally.latencies["post"].append(elapsed_ms(start))
                    tally.answer("POST set_ui_element_value", response)
                    await kernel.output_containing(marker(value), timeout=plan.change_timeout)
                    tally.latencies["change"].append(elapsed_ms(start))
                    tally.changes += 1
                    i += 1
                    pause = plan.think * self.rng.uniform(0.5, 1.5)
                    await asyncio.sleep(max(0.0, min(pause, until - time.monotonic())))
                tally.post_retries += len(retries)
            finally:
                tally.live -= 1
        tally.sessions_served += 1

    async def run(self, start_at: float, end_at: float, tally: Tally) -> None:
        """Tabs one after another from ``start_at`` until ``end_at``."""
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        shortest = self.plan.visit * 0.2
        while end_at - time.monotonic() > shortest:
            until = min(time.monotonic() + self.plan.visit * self.rng.uniform(0.8, 1.2), end_at)
            try:
                await self.visit(until, tally)
            except Exception as error:
                tally.error(classify(error, tally), f"{self.username}: {describe(error)}")
                await asyncio.sleep(1.0)


def classify(error: Exception, tally: Tally) -> str:
    """A short kind for an error a user saw; 5xx websocket handshakes counted as 5xx."""
    if isinstance(error, websockets.exceptions.InvalidStatus):
        status = error.response.status_code
        if status >= 500:
            tally.status_5xx[f"websocket handshake {status}"] += 1
        return f"websocket refused {status}"
    if isinstance(error, websockets.exceptions.InvalidMessage):
        # daphne drops a handshake the application has not accepted within its
        # websocket_connect_timeout (devtools.live sets 30 s): no HTTP answer at all.
        return "websocket handshake: no HTTP answer"
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        code = error.rcvd.code if error.rcvd else None
        return f"websocket closed {code}"
    if isinstance(error, HttpStatusError):
        return str(error).split(":", 1)[0]
    if isinstance(error, TimeoutError):
        return "timeout waiting for output"
    return type(error).__name__


def describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


async def run_load(users: list[User], seconds: float, tally: Tally, plan: Plan) -> float:
    """All users for ``seconds``, started visit/users apart; returns the wall time."""
    t0 = time.monotonic()
    end_at = t0 + seconds
    gap = plan.visit / len(users)
    tasks = [
        asyncio.ensure_future(user.run(t0 + i * gap, end_at, tally)) for i, user in enumerate(users)
    ]
    grace = plan.open_timeout + plan.change_timeout
    _, pending = await asyncio.wait(tasks, timeout=seconds + grace)
    for task in pending:
        task.cancel()
        tally.error("still running at phase end", "task cancelled")
    await asyncio.gather(*pending, return_exceptions=True)
    return time.monotonic() - t0


# --------------------------------------------------------------------------- the server


def prepare_database(count: int) -> None:
    """Migrate, then add the soak's users (run inside a configured Django)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)

    User = get_user_model()
    hashed = make_password(PASSWORD)
    names = [USERNAME.format(i) for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create(
        User(username=name, password=hashed) for name in names if name not in existing
    )


def start_server(workdir: Path, plan: Plan) -> LiveServer:
    server = LiveServer(
        workdir=workdir,
        settings=SETTINGS,
        ready_path="/accounts/login/",
        env={
            "SOAK_SESSION_TTL": str(plan.session_ttl),
            # every user's tab, and a closed tab's kernel each inside its TTL
            "SOAK_MAX_SESSIONS": str(2 * plan.users + 10),
        },
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            f"from bench.soak import prepare_database; prepare_database({plan.users})",
        ],
        cwd=ROOT,
        env=server.environ(),
        check=True,
    )
    return server.start()


# --------------------------------------------------------------------------- sampling


class Timeline:
    """The server's RSS and threads every ``interval`` s, with the load at that moment."""

    def __init__(self, pid: int, interval: float, t0: float) -> None:
        self.pid = pid
        self.interval = interval
        self.t0 = t0
        self.phase = "start"
        self.tally = Tally()
        self.samples: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def read(self) -> dict[str, Any]:
        status = proc_status(self.pid)
        sample = {
            "t": round(time.monotonic() - self.t0, 1),
            "phase": self.phase,
            "rss_mb": round(status["VmRSS"] / 1024, 1),
            "threads": status["Threads"],
            "live": self.tally.live,
            "changes": self.tally.changes,
            "errors": sum(self.tally.errors.values()),
            "load1": round(os.getloadavg()[0], 2),
        }
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        every = max(1, round(30 / self.interval))  # a progress line each ~30 s
        while not self._stop.wait(self.interval):
            sample = self.read()
            if len(self.samples) % every == 0:
                print(
                    f"[{sample['t']:6.1f}s] {sample['phase']}: {sample['live']} live, "
                    f"{sample['changes']} changes, {sample['errors']} errors, "
                    f"RSS {sample['rss_mb']} MB, {sample['threads']} threads",
                    flush=True,
                )

    def __enter__(self) -> Timeline:
        self.read()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def begin(self, phase: str, tally: Tally | None = None) -> None:
        self.phase = phase
        self.tally = tally or Tally()


async def settle(timeline: Timeline, plan: Plan, threads_target: int | None) -> dict[str, Any]:
    """Idle until the TTL has passed and threads are back (or steady, with no target).

    Then RSS is read three more times, ``plan.sample`` apart; the last reading counts.
    """
    start = time.monotonic()
    await asyncio.sleep(plan.session_ttl + 1)
    deadline = start + plan.session_ttl + plan.settle_timeout
    readings: list[int] = []
    steady = max(4, math.ceil(3 / plan.sample))  # the same count for 3 s or more
    while True:
        threads = timeline.read()["threads"]
        readings.append(threads)
        if threads_target is not None and threads <= threads_target:
            break
        if threads_target is None and len(readings) >= steady and len(set(readings[-steady:])) == 1:
            break
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(plan.sample)
    back = time.monotonic() - start
    for _ in range(3):
        await asyncio.sleep(plan.sample)
        sample = timeline.read()
    return {
        "threads": sample["threads"],
        "rss_mb": sample["rss_mb"],
        "threads_back_after_s": round(back, 1),
    }


async def probe(server: LiveServer, *, deep: bool = False, trim: bool = False) -> dict[str, Any]:
    """What the server process holds, from its /_bench/stats view (bench/probe.py)."""
    params = {key: "1" for key, on in (("deep", deep), ("trim", trim)) if on}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        response = await client.get("/_bench/stats", params=params)
        response.raise_for_status()
        return response.json()


# --------------------------------------------------------------------------- the run


async def soak(server: LiveServer, plan: Plan, load: OtherLoad) -> dict[str, Any]:
    assert server.proc is not None
    rng = random.Random(plan.seed)
    users = [
        User(server, USERNAME.format(i), plan, random.Random(rng.random()))
        for i in range(plan.users)
    ]
    results: dict[str, Any] = {}
    with Timeline(server.proc.pid, plan.sample, load.t0) as timeline:

        def begin(phase: str, tally: Tally | None = None) -> None:
            load.phase(phase)
            timeline.begin(phase, tally)

        async def loaded(phase: str, seconds: float) -> dict[str, Any]:
            """A phase of load: every user, ``seconds`` long; what they saw."""
            tally = Tally()
            begin(phase, tally)
            return tally.report(await run_load(users, seconds, tally, plan))

        try:
            begin("sign-in")
            for user in users:
                await user.sign_in()
            results["idle_start"] = {k: timeline.read()[k] for k in ("threads", "rss_mb")}
            results["warmup"] = await loaded("warm-up", plan.warmup)
            begin("idle after warm-up")
            results["baseline"] = await settle(timeline, plan, None)
            results["baseline"]["server"] = await probe(server, deep=True)
            results["soak"] = await loaded("soak", plan.duration)
            begin("idle after soak")
            results["after"] = await settle(timeline, plan, results["baseline"]["threads"])
            results["after"]["server"] = await probe(server, deep=True)
            # Diagnostic: RSS once the allocator has returned what it can (after the checks).
            trim = (await probe(server, trim=True))["trim"]
            results["after"]["rss_mb_after_trim"] = round(trim["rss_kb_after_trim"] / 1024, 1)
        finally:
            for user in users:
                await user.close()
    results["timeline"] = timeline.samples
    return results


# --------------------------------------------------------------------------- report


def timeline_table(samples: list[dict[str, Any]], rows: int = 30) -> str:
    """Every n-th sample (and phase changes), changes/s between printed rows."""
    step = max(1, len(samples) // rows)
    picked = [
        s
        for i, s in enumerate(samples)
        if i % step == 0 or i == len(samples) - 1 or s["phase"] != samples[i - 1]["phase"]
    ]
    lines = [
        f"{'t s':>6}  {'phase':<20} {'live':>4} {'changes/s':>9} {'errors':>6} "
        f"{'RSS MB':>7} {'threads':>7} {'load1':>5}"
    ]
    previous: dict[str, Any] | None = None
    for s in picked:
        rate = "-"
        if previous and previous["phase"] == s["phase"] and s["t"] > previous["t"]:
            rate = f"{(s['changes'] - previous['changes']) / (s['t'] - previous['t']):.1f}"
        lines.append(
            f"{s['t']:>6.1f}  {s['phase']:<20} {s['live']:>4} {rate:>9} {s['errors']:>6} "
            f"{s['rss_mb']:>7.1f} {s['threads']:>7} {s['load1']:>5.2f}"
        )
        previous = s
    return "\n".join(lines)


def summary_table(results: dict[str, Any]) -> str:
    run = results["soak"]
    latency = run["latency_ms"]

    def ms(name: str, q: str) -> str:
        value = latency[name].get(q)
        return "-" if value is None else f"{value:.1f}"

    rows = [
        ("soak duration", f"{run['wall_s']} s"),
        ("sessions opened / served", f"{run['sessions_opened']} / {run['sessions_served']}"),
        ("peak live sessions", str(run["peak_live_sessions"])),
        ("widget changes", f"{run['changes']} ({run['changes_per_s']}/s)"),
        ("errors", str(run["errors"])),
        ("5xx responses", str(run["responses_5xx"])),
        ("change latency p50 / p95", f"{ms('change', 'p50')} / {ms('change', 'p95')} ms"),
        ("POST round trip p50 / p95", f"{ms('post', 'p50')} / {ms('post', 'p95')} ms"),
        ("page GET p50 / p95", f"{ms('page', 'p50')} / {ms('page', 'p95')} ms"),
        ("socket to first output p50 / p95", f"{ms('open', 'p50')} / {ms('open', 'p95')} ms"),
        (
            "threads: start / baseline / after",
            f"{results['idle_start']['threads']} / {results['baseline']['threads']} / "
            f"{results['after']['threads']}",
        ),
        (
            "RSS MB: start / baseline / peak / after",
            f"{results['idle_start']['rss_mb']} / {results['baseline']['rss_mb']} / "
            f"{max(s['rss_mb'] for s in results['timeline'])} / {results['after']['rss_mb']}",
        ),
        ("RSS MB after gc + malloc_trim (diagnostic)", str(results["after"]["rss_mb_after_trim"])),
        (
            "left after: kernel sessions / session records",
            f"{results['after']['server']['kernel_sessions']} / "
            f"{results['after']['server']['session_records']}",
        ),
        (
            "load average (1 min) during soak: mean / max",
            f"{results['load']['soak_load1_mean']} / {results['load']['soak_load1_max']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    args, plan = parse_args(argv)
    t0 = time.monotonic()
    today = datetime.date.today().isoformat()
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"soak: {plan.users} users, tabs of ~{plan.visit:g} s, a change every ~{plan.think:g} s, "
        f"warm-up {plan.warmup:g} s, soak {plan.duration:g} s, session TTL {plan.session_ttl} s",
        flush=True,
    )
    with OtherLoad(t0) as load, tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        load.phase("start-up")
        server = start_server(Path(tmp), plan)
        print(f"daphne pid {server.proc.pid if server.proc else '?'} at {server.url}", flush=True)
        try:
            results = asyncio.run(soak(server, plan, load))
        except BaseException:
            print("--- daphne log (tail) ---\n" + server.log()[-3000:], file=sys.stderr)
            raise
        finally:
            load.phase("shutdown")
            server.stop()
        results["server_log"] = log_problems(server.log())
    soak_loads = [s["load1"] for s in results["timeline"] if s["phase"] == "soak"]
    results["load"] = {
        "soak_load1_max": max(soak_loads, default=None),
        "soak_load1_mean": round(sum(soak_loads) / len(soak_loads), 2) if soak_loads else None,
        "other_processes": load.report(),
    }

    import marimo

    verdicts = checks(results, plan)
    report = {
        "date": today,
        "mode": "short" if args.short else "full",
        "command": " ".join(["python -m bench.soak", *(sys.argv[1:] if argv is None else argv)]),
        "plan": dataclasses.asdict(plan),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": {"marimo": marimo.__version__},
        "server": f"daphne, {SETTINGS} (the demo project, SESSION_TTL {plan.session_ttl} s)",
        "checks": verdicts,
        "passed": all(v["ok"] for v in verdicts.values()),
        "duration_s": round(time.monotonic() - t0, 1),
        **results,
    }
    print()
    print(timeline_table(results["timeline"]))
    print()
    print(summary_table(report))
    print()
    for name, verdict in verdicts.items():
        print(f"{'PASS' if verdict['ok'] else 'FAIL'}  {name}: {verdict['detail']}")
    for phase, figures in report["load"]["other_processes"].items():
        if phase in ("warm-up", "soak") and figures["other_cpu_pct"] >= 10:
            print(
                f"note: other processes used {figures['other_cpu_pct']}% of a core during "
                f"{phase} ({figures['top_other']})"
            )
    stem = f"soak-{today}" + ("-short" if args.short else "")
    path = args.out / f"{stem}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {path} in {report['duration_s']} s")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
