"""A cluster's whole capacity is usable: placement is atomic across fronts.

Two fronts and two workers of 5 sessions each. Ten tabs open at once through
both fronts, then close: their kernels wait out their SESSION_TTL on the
workers, idle. Ten new tabs open at once through both fronts: every one
gets a kernel (each worker closes an idle one to make room), none is closed
4513 "Worker w is full"; an eleventh is told that no worker has room.
Placing by counts read first and a reservation written after let two
consumers (of one front or of two) take a worker's last slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from devtools.cluster import Cluster
from devtools.folders import make_folders
from devtools.live import KernelSocket, LiveServer, cookie_header
from devtools.visitor import new_session_id
from notebook_host.workers.front.placement import NO_WORKER

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

PAGE = "/faults/"
PER_WORKER = 5
TABS = 2 * PER_WORKER


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("cluster-placement")
    cluster = Cluster(workdir, layer="pubsub", extra_env=make_folders(workdir))
    try:
        cluster.start(fronts=2, workers=0)
        for name in ("worker1", "worker2"):
            cluster.add_worker(name, "--max-sessions", str(PER_WORKER))
        yield cluster
    finally:
        cluster.stop()


async def workers(front: LiveServer) -> list[dict[str, Any]]:
    """The health view's workers."""
    headers = {"X-Test-Health-Detail": "yes"}
    async with httpx.AsyncClient(base_url=front.url, timeout=10, headers=headers) as client:
        return list((await client.get("/registered/health/")).json()["workers"])


async def until_each_worker(front: LiveServer, field: str, count: int, seconds: float) -> None:
    """Wait until each worker's heartbeat says ``field`` is ``count``."""
    deadline = time.monotonic() + seconds
    while (found := [w[field] for w in await workers(front)]) != [count, count]:
        assert time.monotonic() < deadline, (field, found)
        await asyncio.sleep(0.3)


@contextlib.asynccontextmanager
async def tab(front: LiveServer) -> AsyncIterator[KernelSocket]:
    """A faults.py page and its kernel socket, as a browser opens them."""
    async with httpx.AsyncClient(base_url=front.url, timeout=60) as client:
        page = await client.get(PAGE)
        assert page.status_code == 200, page.status_code
        cookies = cookie_header(client)
    async with KernelSocket.open(front, PAGE, new_session_id(), cookies=cookies) as kernel:
        kernel.ws.close_timeout = 1
        yield kernel


async def open_all(stack: contextlib.AsyncExitStack, fronts: list[LiveServer]) -> None:
    """TABS tabs at once, alternating fronts; each must show its first output."""

    async def one(front: LiveServer) -> None:
        kernel = await stack.enter_async_context(tab(front))
        await kernel.output_containing("knob is 0", timeout=120)

    await asyncio.gather(*(one(fronts[i % 2]) for i in range(TABS)))


async def test_twice_a_workers_capacity_placed_through_both_fronts_at_once(
    cluster: Cluster,
) -> None:
    fronts = cluster.fronts[:2]
    async with contextlib.AsyncExitStack() as stack:
        await open_all(stack, fronts)
    # Closed tabs: their kernels stay (SESSION_TTL), idle, and leave room.
    await until_each_worker(fronts[0], "idle", PER_WORKER, 20)
    async with contextlib.AsyncExitStack() as stack:
        await open_all(stack, fronts)
        async with tab(fronts[1]) as extra:
            await extra.wait_for(
                lambda k: any(m.get("op") == "kernel-startup-error" for m in k.messages), 20
            )
            assert NO_WORKER in json.dumps(extra.messages)
        await until_each_worker(fronts[1], "sessions", PER_WORKER, 10)
    processes = [*cluster.fronts, *cluster.workers]
    assert not [p.name for p in processes if "is full" in p.log()], cluster.logs()
    made_room = sum(w.log().count("to make room") for w in cluster.workers)
    assert made_room == TABS, cluster.logs()  # each new kernel took an idle one's slot
