"""Static requests per second: marimo's frontend files from both servers.

    python -m bench.static_requests [--rounds 10] [--connections 6]

Starts both servers as ``make bench`` does (the demo as deployed, plain
marimo under uvicorn; bench/compare/'s run_servers), reads the files a
dashboard page links to (scripts, styles, fonts, images of its ``<head>``)
and fetches them ``rounds`` times over ``connections`` keep-alive
connections, as a browser's six per host do. Prints the wall time per
request and the p50/p90 of one request, per server: the cost a cold page
load pays ~300 times.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.compare.plan import FULL
from bench.compare.run import run_servers
from bench.stats import summary
from devtools.client import DASHBOARD
from devtools.procfs import OtherLoad
from devtools.targets import Target

ENCODINGS = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium sends here


def page_files(html: str) -> list[str]:
    """The files the page's ``<head>`` links to, as absolute paths."""
    refs = re.findall(r'(?:href|src)="([^"]+\.(?:js|css|woff2|png))"', html)
    return [ref if ref.startswith("/") else DASHBOARD + ref.removeprefix("./") for ref in refs]


async def fetch(target: Target, files: list[str], rounds: int, connections: int) -> dict:
    times: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _ in range(rounds):
        for file in files:
            queue.put_nowait(file)
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=target.url, limits=limits, headers=ENCODINGS) as client:

        async def worker() -> None:
            while not queue.empty():
                path = queue.get_nowait()
                start = time.perf_counter()
                response = await client.get(path)
                response.raise_for_status()
                times.append((time.perf_counter() - start) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        wall = time.perf_counter() - started
    return {
        "requests": len(times),
        "wall_ms_per_request": round(wall * 1000 / len(times), 2),
        "request_ms": summary(times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=6)
    args = parser.parse_args(argv)

    async def measure(targets: dict[str, Target], *_: Any) -> dict[str, Any]:
        out = {}
        for name, target in targets.items():
            async with target.client() as client:
                files = page_files((await client.get(DASHBOARD)).text)
            await fetch(target, files, 1, args.connections)  # OS caches, first reads
            out[name] = {
                "files": len(files),
                **await fetch(target, files, args.rounds, args.connections),
            }
        return out

    with OtherLoad(time.monotonic()) as load, tempfile.TemporaryDirectory() as tmp:
        results, _, _ = run_servers(Path(tmp), FULL, load, True, measuring=measure)
    for name, figures in results.items():
        print(
            f"{name}: {figures['requests']} requests of {figures['files']} files, "
            f"{figures['wall_ms_per_request']} ms each (wall, {args.connections} connections); "
            f"one request p50 {figures['request_ms']['p50']} ms, "
            f"p95 {figures['request_ms']['p95']} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
