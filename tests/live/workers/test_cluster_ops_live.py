"""Operating a cluster: health as a balancer and as staff see it, a worker's liveness
signals, the Redis policy check at start-up, and a rolling restart through nginx.

One cluster (2 fronts, 2 workers, the core layer) behind deploy/'s nginx site.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import redis
import websockets

from devtools.cluster import Cluster, WorkerProcess
from devtools.live import KernelSocket, cookie_header, server_token
from devtools.nginx import Nginx
from devtools.visitor import new_session_id
from tests.live.workers.test_cluster_live import PAGE, health, start_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(150)]

DRAIN = "2"  # seconds a restarted worker waits for its sockets


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Nginx]]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster-ops"), "core", 2, 0)
    balancer = None
    try:
        for index in (1, 2):
            cluster.add_worker(f"worker{index}", "--drain-timeout", DRAIN)
        balancer = Nginx([f.port for f in cluster.fronts], folder=cluster.workdir / "nginx")
        yield cluster, balancer.start()
    finally:
        if balancer is not None:
            balancer.stop()
        cluster.stop()


async def test_health_shows_counts_and_names_only_to_whom_detail_admits(ops) -> None:
    cluster, _ = ops
    front = cluster.fronts[0]
    public = await health(front, detail=False)
    assert public["http"] == 200 and public["workers_alive"] == 2 and public["workers_ready"] == 2
    assert "workers" not in public
    async with httpx.AsyncClient(base_url=front.url) as client:
        text = (await client.get("/registered/health/")).text
    assert "worker1" not in text and socket.gethostname() not in text
    detailed = await health(front)  # the control: the tests' probe is admitted for detail
    assert sorted(w["name"] for w in detailed["workers"]) == ["worker1", "worker2"]
    assert (await health(front, "live/", detail=False))["http"] == 200
    ready = await health(front, "ready/", detail=False)
    assert ready["http"] == 200 and ready["redis"] == "ok" and "workers" not in ready


async def test_worker_liveness_file_and_systemd_notify(ops, tmp_path: Path) -> None:
    cluster, _ = ops
    alive = tmp_path / "alive"
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        systemd.settimeout(10)
        env = {**cluster.workers[0].env, "NOTIFY_SOCKET": address}
        worker = WorkerProcess("worker-alive", env, cluster.workdir, ["--alive-file", str(alive)])
        worker.start()
        try:
            said = {systemd.recv(64).decode() for _ in range(3)}
            assert {"READY=1", "WATCHDOG=1"} <= said, said
            first = alive.stat().st_mtime
            deadline = time.monotonic() + 10
            while alive.stat().st_mtime == first:  # touched at each heartbeat (0.5 s here)
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
        finally:
            assert worker.stop() == 0
        said = set()
        with contextlib.suppress(TimeoutError):
            while "STOPPING=1" not in said:
                said.add(systemd.recv(64).decode())
        assert "STOPPING=1" in said and not alive.exists()


async def test_worker_refuses_a_redis_that_evicts(ops) -> None:
    cluster, _ = ops
    client = redis.Redis.from_url(cluster.redis.url)
    client.config_set("maxmemory-policy", "volatile-lru")
    try:
        with pytest.raises(RuntimeError, match=r"notebook_host\.E108"):
            WorkerProcess("worker-evicts", cluster.workers[0].env, cluster.workdir).start()
    finally:
        client.config_set("maxmemory-policy", "noeviction")


# -- rolling restart -----------------------------------------------------------

TABS = 20


@dataclass
class Tab:
    """A browser tab changing its slider through nginx, reconnecting as marimo's page does."""

    balancer: Any
    client: httpx.AsyncClient
    sid: str = field(default_factory=new_session_id)
    token: str = ""
    oid: str = ""
    value: int = 0
    kernel: KernelSocket | None = None
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    #: (close code, what the reconnect got: "reconnected" or "kernel-ready").
    reconnects: list[tuple[int | None, str]] = field(default_factory=list)
    retried_posts: int = 0

    async def connect(self) -> str:
        """Open the socket until a kernel answers; a close saying why is retried, as pages do."""
        deadline = time.monotonic() + 60
        while True:
            await self.stack.aclose()
            self.stack = contextlib.AsyncExitStack()
            try:
                self.kernel = await self.stack.enter_async_context(
                    KernelSocket.open(
                        self.balancer, PAGE, self.sid, cookies=cookie_header(self.client)
                    )
                )
                self.kernel.ws.close_timeout = 1
                await self.kernel.wait_for(
                    lambda k: any(
                        m.get("op") in ("kernel-ready", "reconnected") for m in k.messages
                    ),
                    30,
                )
            except websockets.ConnectionClosed as exc:
                # a worker stopping or slow to start closes with a reason (4510-4513)
                code = exc.rcvd.code if exc.rcvd else None
                assert code in (4510, 4511, 4512, 4513), code
                assert time.monotonic() < deadline, f"{self.sid}: no kernel within 60 s"
                await asyncio.sleep(0.5)
                continue
            return next(
                m["op"]
                for m in self.kernel.messages
                if m.get("op") in ("kernel-ready", "reconnected")
            )

    async def open(self) -> None:
        page = await self.client.get(PAGE)
        assert page.status_code == 200, page.status_code
        self.token = server_token(page.text)
        await self.connect()
        assert self.kernel is not None
        await self.kernel.output_containing("knob is 0")
        self.oid = self.kernel.object_id("knob")

    async def post(self, value: int) -> bool:
        """One change: True when taken; False when the socket closed first (reconnect).

        A front going away answers 502 or drops the request, and marimo
        refuses a change while the session's socket is away (403): retried,
        as the page does once it is connected again.
        """
        headers = {
            "Origin": self.balancer.url,
            "Marimo-Session-Id": self.sid,
            "Marimo-Server-Token": self.token,
        }
        body = {"objectIds": [self.oid], "values": [value]}
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                response = await self.client.post(
                    PAGE + "api/kernel/set_ui_element_value", json=body, headers=headers
                )
                if response.status_code == 200:
                    return True
                assert response.status_code in (403, 404, 502, 503, 504), response.text
            assert time.monotonic() < deadline, f"change {value} of {self.sid} never taken"
            self.retried_posts += 1
            await asyncio.sleep(0.3)
            if self.kernel is None or self.kernel.ws.close_code is not None:
                return False

    async def reconnect(self) -> None:
        code = self.kernel.ws.close_code if self.kernel else None
        self.reconnects.append((code, await self.connect()))
        if self.reconnects[-1][1] == "kernel-ready":
            self.value = 0  # a fresh kernel: its slider is back at 0

    async def drive(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            value = self.value + 1
            try:
                assert self.kernel is not None
                if not await self.post(value):
                    raise websockets.ConnectionClosed(None, None)
                await self.kernel.output_containing(f"knob is {value}", timeout=30)
                self.value = value
            except websockets.ConnectionClosed:
                await self.reconnect()
            await asyncio.sleep(0.2)


async def test_rolling_restart_loses_no_change(ops) -> None:
    """Restart each front, then each worker, one at a time, while 20 tabs change values.

    Front restarts: every tab resumes its kernel (same state). Worker
    restarts: only tabs on the draining worker get a fresh kernel, after a
    close saying so (4513); every tab keeps making changes throughout.
    """
    cluster, balancer = ops
    through = SimpleNamespace(url=balancer.url, ws_url=balancer.url.replace("http", "ws", 1))
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as browsers:
        # A browser each: the cluster's per-browser limit is 3 sockets.
        tabs = [
            Tab(
                through,
                await browsers.enter_async_context(
                    httpx.AsyncClient(base_url=balancer.url, timeout=30)
                ),
            )
            for _ in range(TABS)
        ]
        await asyncio.gather(*(tab.open() for tab in tabs))
        stop = asyncio.Event()
        drivers = [asyncio.create_task(tab.drive(stop)) for tab in tabs]

        async def progress() -> None:
            """Every tab makes another change (a restart stalls none of them)."""
            marks = [tab.value for tab in tabs]
            deadline = time.monotonic() + 40
            while any(t.value == m for t, m in zip(tabs, marks, strict=True)):
                assert time.monotonic() < deadline, [t.sid for t in tabs if t.value == 0]
                for task in drivers:
                    if task.done():
                        task.result()  # a driver's failure, raised here
                await asyncio.sleep(0.2)

        try:
            await progress()
            for front in cluster.fronts:
                assert front.stop() == front.clean_exit
                front.start(same_port=True)
                await progress()
            resumed = [op for t in tabs for _, op in t.reconnects]
            assert resumed and set(resumed) == {"reconnected"}, resumed  # same kernels
            for worker in cluster.workers:
                assert worker.stop(timeout=30) == 0
                worker.start()
                await progress()
        finally:
            stop.set()
            await asyncio.gather(*drivers, return_exceptions=True)
            for tab in tabs:
                await tab.stack.aclose()
        for task in drivers:
            task.result()
    fresh = [(code, op) for t in tabs for code, op in t.reconnects if op == "kernel-ready"]
    assert fresh and all(code == 4513 for code, _ in fresh), fresh
    assert time.monotonic() - started < 120
