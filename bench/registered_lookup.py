"""What the per-request database lookup of an admin-registered notebook costs.

    python -m bench.registered_lookup [--requests 300]

Starts a real daphne on the test project (devtools.live.LiveServer, SQLite),
registers tests/notebooks/apps/test_app.py through the admin over HTTP, then
times sequential requests that go through the access check and into marimo
(``<page>/health``, public) for the same kind of page served by
``notebook()`` (``/app1/``) and by ``include("notebook_host.urls")``
(``/registered/<slug>/``). Prints p50/p95 in milliseconds for each.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from devtools import admin_http
from devtools.live import LiveServer, login


async def timings(client: httpx.AsyncClient, url: str, count: int) -> list[float]:
    for _ in range(20):  # warm up: app built, caches filled
        assert (await client.get(url)).status_code == 200
    found = []
    for _ in range(count):
        start = time.perf_counter()
        response = await client.get(url)
        found.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return found


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms"


async def run(count: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.projects.default.settings")
    django.setup()
    from devtools.folders import make_folders
    from devtools.users import PASSWORD

    workdir = Path(tempfile.mkdtemp(prefix="bench-registered-"))
    server = LiveServer(workdir, env=make_folders(workdir))
    server.prepare()
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as root:
            await login(root, "root", PASSWORD)
            await admin_http.add(root, "bench", "Bench", path="test_app.py")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for label, url in (
                ("notebook()  /app1/health", "/app1/health"),
                ("registered  /registered/bench/health", "/registered/bench/health"),
            ):
                print(f"{label}: {summary(await timings(client, url, count))}")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
