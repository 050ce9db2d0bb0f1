"""Server CPU per session start and per widget change, against plain marimo + patch.

    python -m bench.session_cost [--runs 3] [--targets daphne,uvicorn,...]

Each target is one server on this machine, started alone, in turn, and the
targets are interleaved run by run (patched, daphne, uvicorn, patched, ...):

* ``patched``: marimo's ``create_asgi_app`` under uvicorn with only
  notebook_host's entry-point patch (devtools/plain_marimo.py), the anchor;
* ``daphne`` / ``uvicorn``: the demo project with local kernels
  (bench/projects/compare_settings.py, DEBUG off) under that ASGI server;
* ``daphne-python-gc`` / ``uvicorn-python-gc``: the same with
  ``GC_THRESHOLD = None`` (Python's own collector), to see what the
  collector setting is worth.

Per target and run it measures, on the dashboard notebook:

1. **one at a time**: ``--starts`` sessions opened one after another (page
   GET, socket, first output), then ``--changes`` slider changes of one
   session: the server's CPU (utime + stime of its process tree) per start
   and per change, with no other load;
2. **all at once**: bench/compare's concurrent round of ``--sessions``
   sessions (100), the round ``make bench-cluster`` runs: CPU per session,
   changes/s, session start p50.

``patched`` is always measured. Prints the medians side by side, with each
figure's ratio to ``patched``,
and writes bench/results/<date>-session-cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.cluster import CLUSTER
from bench.compare.plan import RESULTS_DIR
from bench.compare.protocol import concurrent_round
from bench.compare.servers import read_token, sign_in
from devtools.client import DASHBOARD, SLIDER_LABEL, marker, new_session_id, next_value, set_value
from devtools.live import LiveServer
from devtools.procfs import cpu_seconds
from devtools.targets import PlainMarimo, Target

ANCHOR = "patched"
#: DEBUG off, as docs/deployment.md deploys it (the protocol client loads no static file).
DEPLOYED = {"DJANGO_DEBUG": "0"}
#: Target name -> (ASGI server, extra environment); the anchor is plain marimo.
PRODUCT = {
    "daphne": ("daphne", DEPLOYED),
    "uvicorn": ("uvicorn", DEPLOYED),
    "daphne-python-gc": ("daphne", {**DEPLOYED, "BENCH_PYTHON_GC": "1"}),
    "uvicorn-python-gc": ("uvicorn", {**DEPLOYED, "BENCH_PYTHON_GC": "1"}),
}
TARGETS = (ANCHOR, *PRODUCT)


async def open_session(client: Any, target: Target) -> None:
    """What a browser does to start a session: the page, its socket, the first output."""
    (await client.get(DASHBOARD)).raise_for_status()
    async with target.socket(DASHBOARD, new_session_id()) as kernel:
        await kernel.output_containing(marker(10), timeout=60)


async def one_at_a_time(target: Target, starts: int, changes: int) -> dict[str, float]:
    async with target.client() as client:
        for _ in range(3):  # warm: the app, the first kernels
            await open_session(client, target)
        await asyncio.sleep(1)
        before = cpu_seconds(target.pid)
        for _ in range(starts):
            await open_session(client, target)
        per_start = (cpu_seconds(target.pid) - before) / starts
        await asyncio.sleep(1)
        session = new_session_id()
        async with target.socket(DASHBOARD, session) as kernel:
            await kernel.output_containing(marker(10), timeout=60)
            knob = kernel.object_id(SLIDER_LABEL)
            before = cpu_seconds(target.pid)
            for i in range(changes):
                value = next_value(i)
                kernel.outputs.clear()
                headers = target.api_headers(session)
                response = await set_value(client, DASHBOARD, headers, knob, value, [])
                response.raise_for_status()
                await kernel.output_containing(marker(value), timeout=30)
            per_change = (cpu_seconds(target.pid) - before) / changes
    return {"CPU ms per start": per_start * 1000, "CPU ms per change": per_change * 1000}


async def all_at_once(target: Target, sessions: int) -> dict[str, float]:
    before = cpu_seconds(target.pid)
    round_ = await concurrent_round(target, sessions, replace(CLUSTER, sessions=(sessions,)))
    if round_["success_rate"] != 1.0:
        raise RuntimeError(f"{target.name}: {round_['errors']}")
    return {
        f"CPU ms per session, {sessions} at once": (cpu_seconds(target.pid) - before)
        / sessions
        * 1000,
        f"changes/s, {sessions} at once": round_["changes_per_s"],
        f"session start p50 ms, {sessions} at once": round_["first_output_ms"]["p50"],
    }


async def measure(target: Target, signed_in: bool, args: argparse.Namespace) -> dict[str, float]:
    if signed_in:
        await sign_in(target)
    await read_token(target)
    return {
        **await one_at_a_time(target, args.starts, args.changes),
        **await all_at_once(target, args.sessions),
    }


def run(name: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-session-cost-") as folder:
        workdir = Path(folder)
        if name == ANCHOR:
            plain = PlainMarimo(workdir, {"BENCH_ENTRY_POINTS_ONCE": "1"})
            plain.launch()
            try:
                plain.wait_ready()
                assert plain.proc is not None
                return asyncio.run(measure(Target(name, plain.port, plain.proc.pid), False, args))
            finally:
                plain.stop()
        server, env = PRODUCT[name]
        live = LiveServer(
            workdir,
            settings="bench.projects.compare_settings",
            ready_path="/accounts/login/",
            server=server,
            env=env,
        )
        live.prepare()
        live.start()
        try:
            assert live.proc is not None
            return asyncio.run(measure(Target(name, live.port, live.proc.pid), True, args))
        finally:
            live.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--starts", type=int, default=40, help="sessions opened one at a time")
    parser.add_argument("--changes", type=int, default=200, help="changes of one session")
    parser.add_argument("--sessions", type=int, default=100, help="sessions at once")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    names = [ANCHOR, *(n for n in args.targets.split(",") if n != ANCHOR)]
    if not set(names) <= set(TARGETS):
        parser.error(f"--targets takes {', '.join(TARGETS)}")
    started = time.monotonic()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _ in range(args.runs):
        for name in names:
            runs[name].append(run(name, args))
    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }
    print(f"| median of {args.runs} interleaved runs | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for key in medians[ANCHOR]:
        anchor = medians[ANCHOR][key]
        cells = [f"{medians[ANCHOR][key]:.1f}"] + [
            f"{medians[n][key]:.1f} ({medians[n][key] / anchor:.2f}x)" for n in names[1:]
        ]
        print(f"| {key} | " + " | ".join(cells) + " |")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"{datetime.date.today().isoformat()}-session-cost.json"
    report = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "seconds": round(time.monotonic() - started, 1),
        "median": medians,
        "runs": runs,
    }
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
