"""Faults of a cluster, each on real processes: kill -9, SIGTERM, Redis down, lost messages.

Each test leaves the cluster whole again (a new front or worker replaces the
one it killed), so the tests run in any order on one cluster per layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
import websockets
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

from devtools.cluster import Cluster
from devtools.live import KernelSocket, cookie_header
from tests.live.workers.test_cluster_live import (
    PAGE,
    browser,
    health,
    opened,
    post_knob,
    same_browser,
    start_cluster,
    texts,
    turn,
    until_closed,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(150)]


@pytest.fixture(scope="module", params=["core", "pubsub"])
def cluster(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp(f"faults-{request.param}"), request.param, 2, 2)
    yield started
    started.stop()


def placed_on(cluster: Cluster, sid: str) -> str:
    """The worker the latest placement of ``sid`` chose (entries are in its record)."""
    return entry(cluster, sid)["worker"]


def entry(cluster: Cluster, sid: str) -> dict:
    raw = redis.Redis.from_url(cluster.redis.url).get(f"notebook_host:session:{sid}")
    assert raw is not None, sid
    return json.loads(raw)


def layer(cluster: Cluster):
    cls = RedisChannelLayer if cluster.layer == "core" else RedisPubSubChannelLayer
    return cls(hosts=[cluster.redis.url])


async def reconnect(front, client: httpx.AsyncClient, sid: str) -> KernelSocket:
    """Open the socket of session ``sid`` again and wait for marimo's first answer."""
    stack = contextlib.AsyncExitStack()
    kernel = await stack.enter_async_context(
        KernelSocket.open(front, PAGE, sid, cookies=cookie_header(client))
    )
    kernel.ws.close_timeout = 1
    kernel._stack = stack  # type: ignore[attr-defined]
    await kernel.wait_for(
        lambda k: any(m.get("op") in ("reconnected", "kernel-ready") for m in k.messages), 20
    )
    return kernel


async def test_kill_9_front_resumes_through_another_front(cluster: Cluster) -> None:
    doomed, other = cluster.fronts[0], cluster.fronts[1]
    async with browser(doomed) as client, opened(doomed, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, doomed, sid, token, oid, 5), 5)
        doomed.proc.kill()  # kill -9
        doomed.proc.wait(10)
        code, _ = await until_closed(kernel, 10)
        assert code is not None
    cluster.fronts.remove(doomed)
    async with same_browser(client, other) as moved:
        resumed = await reconnect(other, moved, sid)
        try:
            ops = [m.get("op") for m in resumed.messages]
            assert "reconnected" in ops and "kernel-ready" not in ops, ops  # same kernel
            resumed.outputs.clear()
            await turn(resumed, await post_knob(moved, other, sid, token, oid, 6), 6)
        finally:
            await resumed._stack.aclose()
    cluster.add_front("front-after-kill")


async def test_kill_9_worker_fresh_kernel_elsewhere(cluster: Cluster) -> None:
    front = cluster.fronts[0]
    async with contextlib.AsyncExitStack() as stack:
        tabs = {}
        for _ in range(4):  # least-loaded placement alternates: one tab on each worker
            client = await stack.enter_async_context(browser(front))
            kernel, sid, token, oid = await stack.enter_async_context(opened(front, client))
            tabs.setdefault(placed_on(cluster, sid), (client, kernel, sid, token, oid))
            if len(tabs) == 2:
                break
        assert len(tabs) == 2, tabs.keys()
        victim_name, survivor_name = sorted(tabs)
        victim = next(w for w in cluster.workers if w.name == victim_name)
        victim.kill()
        killed = time.monotonic()
        client, kernel, sid, token, oid = tabs[victim_name]
        code, waited = await until_closed(kernel, 15)
        assert code == 4510, (code, texts(kernel)[-500:])
        assert "stopped" in texts(kernel)  # the banner says why
        assert waited < 10
        # the directory forgets the dead worker within 10 s
        while victim_name in {w["name"] for w in (await health(front))["workers"]}:
            assert time.monotonic() - killed < 10
            await asyncio.sleep(0.3)
        # reconnecting gets a fresh kernel on another worker within 15 s
        fresh = await reconnect(front, client, sid)
        try:
            assert any(m.get("op") == "kernel-ready" for m in fresh.messages)
            await fresh.output_containing("knob is 0")
            assert time.monotonic() - killed < 15
            assert placed_on(cluster, sid) == survivor_name
        finally:
            await fresh._stack.aclose()
        # the other worker's session was untouched
        s_client, s_kernel, s_sid, s_token, s_oid = tabs[survivor_name]
        await turn(s_kernel, await post_knob(s_client, front, s_sid, s_token, s_oid, 3), 3)
    cluster.workers.remove(victim)
    cluster.add_worker(victim_name + "-again")


async def test_sigterm_worker_drains_and_exits_0(cluster: Cluster) -> None:
    front = cluster.fronts[0]
    drainer = cluster.add_worker("drainer", "--drain-timeout", "2")
    cluster.workers.remove(drainer)
    try:
        async with browser(front) as client, opened(front, client) as (kernel, sid, _, _):
            assert placed_on(cluster, sid) == "drainer"  # the least loaded: it has none
            drainer.proc.send_signal(15)
            await asyncio.sleep(1)
            async with browser(front) as late, opened(front, late) as (_, late_sid, _, _):
                assert placed_on(cluster, late_sid) != "drainer"
            code, _ = await until_closed(kernel, 15)
            assert code == 4513, code
        assert drainer.proc.wait(15) == 0
    finally:
        drainer.stop()


async def test_sigterm_front_exits_0_within_5s_tabs_resume(cluster: Cluster) -> None:
    leaving, other = cluster.fronts[0], cluster.fronts[1]
    async with browser(leaving) as client, opened(leaving, client) as (kernel, sid, token, oid):
        started = time.monotonic()
        leaving.proc.send_signal(15)
        assert leaving.proc.wait(10) == leaving.clean_exit
        assert time.monotonic() - started < 5
        await until_closed(kernel, 5)
    cluster.fronts.remove(leaving)
    async with same_browser(client, other) as moved:
        resumed = await reconnect(other, moved, sid)
        try:
            assert "reconnected" in [m.get("op") for m in resumed.messages]
            resumed.outputs.clear()
            await turn(resumed, await post_knob(moved, other, sid, token, oid, 2), 2)
        finally:
            await resumed._stack.aclose()
    cluster.add_front("front-after-term")


async def test_lost_frame_to_the_browser_closes_with_reason(cluster: Cluster) -> None:
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, _, _):
        found = entry(cluster, sid)
        # A frame numbered far ahead: the ones before it never came.
        await layer(cluster).send(
            found["front"],
            {
                "type": "notebook_host.ws.out",
                "stream": found["stream"],
                "seq": 10**6,
                "event": "send",
                "text": "{}",
                "more": False,
            },
        )
        code, _ = await until_closed(kernel, 10)
        assert code == 4511 and "was lost" in texts(kernel), (code, texts(kernel)[-400:])
        fresh = await reconnect(front, client, sid)  # the session restarts
        try:
            assert any(m.get("op") == "kernel-ready" for m in fresh.messages)
        finally:
            await fresh._stack.aclose()


async def test_lost_frame_to_the_kernel_closes_with_reason(cluster: Cluster) -> None:
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, _, _):
        found = entry(cluster, sid)
        await layer(cluster).send(
            found["channel"],
            {
                "type": "notebook_host.ws.in",
                "stream": found["stream"],
                "front": found["front"],
                "seq": 10**6,
                "event": "receive",
                "text": "{}",
                "more": False,
            },
        )
        code, _ = await until_closed(kernel, 10)
        assert code == 4511, (code, texts(kernel)[-400:])


async def test_redis_down_10s_clear_errors_then_resumes(cluster: Cluster) -> None:
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        cluster.redis.stop()
        down = time.monotonic()
        try:
            # an API call of the open tab: a clear 503, quickly
            started = time.monotonic()
            response = await post_knob(client, front, sid, token, oid, 1)
            assert response.status_code == 503 and "Redis" in response.text
            # a plain sentence: no connection error text, host or port of Redis
            port = str(cluster.redis.port)
            assert port not in response.text and "127.0.0.1" not in response.text
            assert time.monotonic() - started < 10
            report = await health(front)
            assert report["http"] == 503 and report["redis"] == "unreachable"
            # a new tab: marimo's startup-error dialog saying why, then a wait
            async with browser(front) as late:
                assert (await late.get(PAGE)).status_code == 200
                async with KernelSocket.open(
                    front, PAGE, "s_redisdown", cookies=cookie_header(late)
                ) as waiting:
                    await waiting.wait_for(
                        lambda k: any(m.get("op") == "kernel-startup-error" for m in k.messages),
                        10,
                    )
                    assert "Redis" in texts(waiting)
                    assert port not in texts(waiting) and "127.0.0.1" not in texts(waiting)
                    await asyncio.sleep(max(0, 10 - (time.monotonic() - down)))
                    cluster.redis.start()  # same port: back after 10 s
                    await waiting.wait_for(
                        lambda k: any(m.get("op") == "reload" for m in k.messages), 30
                    )
        finally:
            if not cluster.redis.ping():
                cluster.redis.start()
        # service resumes by itself: a new tab gets a kernel (the pub/sub layer
        # may take a few seconds to subscribe again; the page's reconnect retries)
        deadline = time.monotonic() + 40
        while True:
            try:
                async with browser(front) as again, opened(front, again):
                    break
            except (websockets.ConnectionClosed, TimeoutError):
                assert time.monotonic() < deadline, "no kernel 40 s after Redis came back"
                await asyncio.sleep(1)
        # the open tab works again, or was closed with a reason (never silently wrong)
        try:
            response = await post_knob(client, front, sid, token, oid, 4)
            if response.status_code == 200:
                await kernel.output_containing("knob is 4", timeout=20)
            else:
                code, _ = await until_closed(kernel, 15)
                assert code in (4510, 4511, 4512), code
        except websockets.ConnectionClosed:
            assert kernel.ws.close_code in (4510, 4511, 4512)
