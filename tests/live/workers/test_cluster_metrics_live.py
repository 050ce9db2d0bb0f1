"""Metrics and kernel logs with kernels in workers: a real front, worker and Redis.

The worker serves ``--metrics-port``: ``/live`` for probes, ``/metrics``
behind the bearer token; its kernel's cell errors reach the Django handler
configured in its settings, as a front's do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.cluster import Cluster
from devtools.folders import make_folders
from devtools.live import free_port
from devtools.visitor import open_tab
from tests.support.jsonlog import read_records
from tests.support.scrape import ERROR_ID, TOKEN, Samples, scrape, value

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, int]]:
    workdir: Path = tmp_path_factory.mktemp("cluster-metrics")
    env = {
        **make_folders(workdir),
        "NOTEBOOK_HOST_TEST_METRICS_TOKEN": TOKEN,
        "NOTEBOOK_HOST_TEST_KERNEL_LOG": str(workdir / "kernel.jsonl"),
        "DJANGO_DEBUG": "0",
    }
    running = Cluster(workdir, extra_env=env)
    port = free_port()
    try:
        running.start(fronts=1, workers=0)
        running.add_worker("w1", "--metrics-port", str(port), "--max-sessions", "7")
    except BaseException:
        running.stop()
        raise
    yield running, port
    running.stop()


async def worker_samples(port: int) -> Samples:
    return await scrape(f"http://127.0.0.1:{port}/metrics")


async def test_worker_port_answers_live_and_guards_metrics(cluster: tuple[Cluster, int]) -> None:
    _, port = cluster
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        live = await client.get("/live")
        assert (live.status_code, live.text) == (200, "ok\n")
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer wrong-token-xx"})
        assert wrong.status_code == 401
        assert (await client.get("/elsewhere")).status_code == 404
    samples = await worker_samples(port)
    assert value(samples, "notebook_host_worker_capacity", worker="w1") == 7
    assert value(samples, "notebook_host_worker_draining", worker="w1") == 0


async def test_worker_metrics_and_logs_follow_its_kernels(cluster: tuple[Cluster, int]) -> None:
    running, port = cluster
    front = running.fronts[0]
    before = await worker_samples(port)
    async with (
        httpx.AsyncClient(base_url=front.url, timeout=30) as client,
        open_tab(front, client, "/faults/", ready="no boom") as tab,
    ):
        for knob in (1, 2):
            await tab.turn("knob", knob, f"knob is {knob}")
        tab.kernel.outputs.clear()
        assert (await tab.set_value("boom", 3)).status_code == 200
        shown = await tab.kernel.output_containing("error id")
        await asyncio.sleep(1.5)  # a heartbeat counts the connected session
        during = await worker_samples(port)
    label = {"notebook": "/faults/"}
    started = "notebook_host_sessions_started_total"
    assert value(during, started, **label) == value(before, started, **label) + 1
    changes = "notebook_host_widget_change_seconds_count"
    assert value(during, changes) - value(before, changes) >= 2
    errors = "notebook_host_cell_errors_total"
    assert value(during, errors, **label) == value(before, errors, **label) + 1
    assert value(during, "notebook_host_worker_sessions", worker="w1", state="connected") == 1
    assert value(during, "notebook_host_sessions_open", state="connected", **label) == 1

    match = ERROR_ID.search(shown)
    assert match and "boom-on-demand-3" not in shown, shown
    deadline = time.monotonic() + 10
    records: list[dict] = []
    while time.monotonic() < deadline and not records:
        records = [
            r
            for r in read_records(running.workdir / "kernel.jsonl")
            if r.get("error_id") == match.group(1)
        ]
        await asyncio.sleep(0.2)
    assert records, "the worker's cell error did not reach its Django handler"
    assert records[0]["session_id"] == tab.session_id
    assert records[0]["notebook"] == "/faults/"
    assert "boom-on-demand-3" in records[0]["message"]


async def test_front_serves_its_metrics_with_workers(cluster: tuple[Cluster, int]) -> None:
    running, _ = cluster
    async with httpx.AsyncClient(base_url=running.fronts[0].url, timeout=10) as client:
        response = await client.get(
            "/registered/metrics/", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200
        assert "notebook_host_redis_errors_total" in response.text
        assert (await client.get("/registered/metrics/")).status_code == 404


def test_a_taken_metrics_port_stops_the_worker_with_a_reason(
    cluster: tuple[Cluster, int],
) -> None:
    running, port = cluster
    with pytest.raises(RuntimeError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
        running.add_worker("w2", "--metrics-port", str(port))
