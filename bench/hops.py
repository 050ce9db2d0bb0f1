"""Where a POST's time goes with kernels in a worker: py-spy profiles of every process.

    python -m bench.hops [--posts N] [--layer pubsub|core] [--out DIR]

Starts the demo with 1 worker and 2 fronts behind nginx (as bench/cluster.py
does), then makes N widget changes of one session (POST set_ui_element_value,
then its output on the socket, as post_round_trips measures) while py-spy
samples the fronts and the worker (``--nonblocking``, 500 Hz, busy threads
only). Prints, per process, the CPU seconds per change and the share of the
samples spent in each part of the stack (channels_redis and redis-py,
msgpack, daphne/twisted, Django, Channels, asyncio, marimo, notebook_host,
other), innermost part first, and the innermost frames most samples were
in; and a Redis PUBLISH round trip measured in the same run, the floor of
one hop. Writes bench/results/<date>-hops-<layer>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import redis

from bench import spy
from bench.cluster import ClusterProcess
from bench.compare.plan import FULL, RESULTS_DIR
from bench.compare.protocol import post_round_trips
from bench.compare.servers import read_token, sign_in
from devtools.live import read_log
from devtools.procfs import cpu_seconds, process_tree, scan_processes
from devtools.targets import Target


def roles(root_pid: int) -> dict[str, int]:
    """The cluster's Python processes by role: front1, front2, worker1."""
    processes = scan_processes()
    found: dict[str, int] = {}
    fronts = 0
    for pid in sorted(process_tree(root_pid, processes)):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [w.decode(errors="replace") for w in cmdline]
        if "daphne" in words[:3]:  # python -m daphne ...
            fronts += 1
            found[f"front{fronts}"] = pid
        elif "notebook_worker" in words:
            found["worker1"] = pid
    return found


def publish_round_trip(url: str, samples: int = 300) -> float:
    """p50 ms of PUBLISH to a channel this client reads back: one hop's floor."""
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub()
    pubsub.subscribe("bench-hop")
    pubsub.get_message(timeout=1)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        client.publish("bench-hop", b"x" * 1024)
        while pubsub.get_message(timeout=1) is None:
            pass
        times.append((time.perf_counter() - start) * 1000)
    pubsub.close()
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--layer", choices=("pubsub", "core"), default="pubsub")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    plan = replace(FULL, posts=args.posts)
    with tempfile.TemporaryDirectory(prefix="notebook-host-hops-") as folder:
        cluster = ClusterProcess(Path(folder), 1, args.layer).start()
        try:
            assert cluster.proc is not None
            target = Target("workers_1", cluster.port, cluster.proc.pid)
            asyncio.run(sign_in(target))
            asyncio.run(read_token(target))
            pids = roles(cluster.proc.pid)
            found = re.search(r"Redis (redis://\S+?)\)", read_log(cluster.log_path))
            redis_url = found.group(1) if found else ""
            raws = {role: Path(folder) / f"{role}.txt" for role in pids}
            before = {role: cpu_seconds(pid) for role, pid in pids.items()}
            with contextlib.ExitStack() as spies:
                for role, pid in pids.items():
                    spies.enter_context(spy.record(pid, raws[role]))
                posts = asyncio.run(post_round_trips(target, plan))
                after = {role: cpu_seconds(pid) for role, pid in pids.items()}
            hop = publish_round_trip(redis_url) if redis_url else None
        finally:
            cluster.stop()
        changes = plan.posts + plan.post_warmup
        report = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "layer": args.layer,
            "posts": posts,
            "publish_round_trip_p50_ms": hop,
            "processes": {},
        }
        for role in pids:
            report["processes"][role] = {
                "cpu_ms_per_change": round((after[role] - before[role]) * 1000 / changes, 2),
                **spy.report(raws[role]),
            }
    print(f"POST p50 {posts.get('p50')} ms, p95 {posts.get('p95')} ms ({args.layer} layer)")
    print(f"Redis PUBLISH round trip p50: {hop} ms")
    for role, figures in report["processes"].items():
        parts = ", ".join(f"{k} {v} %" for k, v in figures["parts_percent"].items())
        print(f"{role}: {figures['cpu_ms_per_change']} ms CPU per change; {parts}")
        for frame, share in figures["top_functions"]:
            print(f"    {share:5.1f} %  {frame}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.date.today().isoformat()}-hops-{args.layer}.json"
    path.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
