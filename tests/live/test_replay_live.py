"""Replay on a real cluster: a tab whose worker is killed comes back as its viewer left it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.live.test_cluster_faults_live import placed_on, reconnect
from tests.live.test_cluster_live import (
    browser,
    opened,
    post_knob,
    same_browser,
    start_cluster,
    texts,
    turn,
    until_closed,
)
from tests.support.cluster import Cluster

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(150)]

#: The cluster project's WORKER_EXPIRY (tests/projects/cluster/settings.py).
WORKER_EXPIRY = 4.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("replay"), "core", 2, 2)
    yield started
    started.stop()


async def test_kill_9_worker_the_tab_comes_back_with_its_values(cluster: Cluster) -> None:
    front, other = cluster.fronts[0], cluster.fronts[1]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, front, sid, token, oid, 7), 7)
        victim_name = placed_on(cluster, sid)
        victim = next(w for w in cluster.workers if w.name == victim_name)
        victim.kill()  # kill -9
        killed = time.monotonic()
        code, _ = await until_closed(kernel, 15)
        assert code == 4510, (code, texts(kernel)[-500:])
        assert "restores your widget values" in texts(kernel)
    async with same_browser(client, other) as moved:
        # as marimo's frontend does: the same session id again, through any front
        restored = await reconnect(other, moved, sid)
        try:
            await restored.output_containing("knob is 7", timeout=20)
            assert time.monotonic() - killed < WORKER_EXPIRY + 10
            assert "Session restored" in texts(restored)
            assert placed_on(cluster, sid) != victim_name
            # the restored kernel takes further changes as before
            restored.outputs.clear()
            await turn(restored, await post_knob(moved, other, sid, token, oid, 8), 8)
        finally:
            await restored._stack.aclose()
    cluster.workers.remove(victim)
    cluster.add_worker(victim_name + "-again")


async def test_redis_restart_the_tab_comes_back_with_its_values(cluster: Cluster) -> None:
    """A restart empties Redis (no persistence): the tab closed 4511 shows its value again."""
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, front, sid, token, oid, 7), 7)
        cluster.redis.stop()
        restarted = time.monotonic()
        try:
            await asyncio.sleep(1.0)  # the front's watchdog sees the outage
        finally:
            cluster.redis.start()  # same port, empty
        code, _ = await until_closed(kernel, 15)
        assert code == 4511, (code, texts(kernel)[-500:])
        assert any("knob is 7" in out for out in kernel.outputs.values())  # the page shows
        # as marimo's frontend does: the same session id again, at once
        back = await reconnect(front, client, sid)
        try:
            ops = [m.get("op") for m in back.messages]
            if "kernel-ready" in ops:  # a new kernel: it must start with the values
                await back.output_containing("knob is 7", timeout=20)
            else:  # the kernel survived: the page keeps showing knob is 7
                assert "reconnected" in ops, ops
            assert time.monotonic() - restarted < WORKER_EXPIRY + 10
            # the session takes (and records) changes as before
            back.outputs.clear()
            await turn(back, await post_knob(client, front, sid, token, oid, 8), 8)
        finally:
            await back._stack.aclose()
