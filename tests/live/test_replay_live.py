"""Replay on a real cluster: a tab whose worker is killed comes back as its viewer left it."""

from __future__ import annotations

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
