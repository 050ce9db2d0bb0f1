"""The core layer's capacity under load: what check E106 asks for, measured.

channels_redis's core layer keeps one list per process for all its
consumers' channels, at most ``capacity`` messages long (100 by default).
Two fronts and two workers serve 100 sessions changing a widget 20 times
each, all at once: with the capacity E106 asks for (10 per worker session)
every change completes, and none is lost as sessions close around it (the
layer is notebook_host's, tests/live/workers/test_workers_layer_live.py). A socket
that lost a frame must close with 4511, never show a wrong page.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import websockets

from devtools.cluster import Cluster
from devtools.folders import make_folders
from devtools.live import KernelSocket, LiveServer, cookie_header, server_token
from devtools.visitor import new_session_id
from notebook_host import closecodes

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(420)]

PAGE = "/faults/"
SESSIONS = 100
CHANGES = 20


@dataclass
class Load:
    """What the sessions saw."""

    #: Sessions open (showing their first output) or failed: the changes start at SESSIONS.
    settled: int = 0
    go: asyncio.Event = field(default_factory=asyncio.Event)
    completed: int = 0
    lost_sockets: int = 0
    failed_posts: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


def start(workdir: Path, capacity: int, silence: str = "") -> Cluster:
    env = {
        **make_folders(workdir),
        "NOTEBOOK_HOST_TEST_CAPACITY": str(capacity),
        "NOTEBOOK_HOST_TEST_SILENCE": silence,
    }
    cluster = Cluster(workdir, layer="core", extra_env=env)
    try:
        cluster.start(fronts=2, workers=2)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def settle(load: Load) -> None:
    load.settled += 1
    if load.settled == SESSIONS:
        load.go.set()


async def one_session(front: LiveServer, opening: asyncio.Semaphore, load: Load) -> None:
    """Open a tab, wait for every other one, then change its knob CHANGES times."""
    async with httpx.AsyncClient(base_url=front.url, timeout=60) as client:
        async with opening:
            page = await client.get(PAGE)
            assert page.status_code == 200
            token, sid = server_token(page.text), new_session_id()
            socket = KernelSocket.open(front, PAGE, sid, cookies=cookie_header(client))
            try:
                kernel = await socket.__aenter__()
                await kernel.output_containing("knob is 0", timeout=120)
            finally:
                settle(load)
        try:
            knob = kernel.object_id("knob")
            await load.go.wait()
            for value in range(1, CHANGES + 1):
                kernel.outputs.clear()
                response = await client.post(
                    PAGE + "api/kernel/set_ui_element_value",
                    json={"objectIds": [knob], "values": [value]},
                    headers={
                        "Origin": front.url,
                        "Marimo-Session-Id": sid,
                        "Marimo-Server-Token": token,
                    },
                )
                if response.status_code != 200:
                    load.failed_posts[response.status_code] = (
                        load.failed_posts.get(response.status_code, 0) + 1
                    )
                    continue
                await kernel.output_containing(f"knob is {value}", timeout=60)
                load.completed += 1
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            assert code == closecodes.MESSAGE_LOST, code  # a lost frame ends the socket, saying so
            load.lost_sockets += 1
        finally:
            with contextlib.suppress(Exception):
                await socket.__aexit__(None, None, None)


async def run_load(cluster: Cluster) -> Load:
    """SESSIONS tabs over both fronts, opened 10 at a time; their changes start together."""
    load, opening, fronts = Load(), asyncio.Semaphore(10), cluster.fronts
    tasks = [
        asyncio.create_task(one_session(fronts[i % len(fronts)], opening, load))
        for i in range(SESSIONS)
    ]
    await asyncio.wait_for(load.go.wait(), 300)
    started = time.monotonic()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    load.seconds = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, "".join(traceback.format_exception(errors[0])) + cluster.logs()
    return load


@pytest.fixture
def cluster_dir(tmp_path: Path) -> Path:
    return tmp_path


async def test_with_the_capacity_e106_asks_every_change_completes(cluster_dir: Path) -> None:
    cluster = start(cluster_dir, capacity=500)  # 10 x WORKER_MAX_SESSIONS (50)
    try:
        load = await run_load(cluster)
    finally:
        cluster.stop()
    print(f"capacity 500: {load}")
    assert load.lost_sockets == 0 and not load.failed_posts, (load, cluster.logs())
    assert load.completed == SESSIONS * CHANGES
