"""Process kernels in a worker: each session a process of the worker, a crash costs one tab.

The same guarantees as tests/live/test_isolation_live.py with local kernels,
on the cluster tier: one front, one ``notebook_worker``, a throwaway Redis.
The front runs no notebook code; the worker's template forks the kernels.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.cluster import Cluster
from devtools.folders import make_folders
from devtools.procfs import process_tree
from devtools.visitor import open_tab
from tests.live.test_isolation_live import PAGE, banner, kernel_pid

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.cluster,
    pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process kernels need Linux"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("cluster-iso")
    found = Cluster(
        workdir,
        extra_env=make_folders(workdir),
        settings="tests.projects.cluster_isolation.settings",
    )
    try:
        found.start(fronts=1, workers=1)
        yield found
    finally:
        found.stop()


async def test_sessions_are_processes_of_the_worker_and_a_crash_costs_one_tab(
    cluster: Cluster,
) -> None:
    front, worker = cluster.fronts[0], cluster.workers[0]
    assert worker.proc is not None
    async with (
        httpx.AsyncClient(base_url=front.url, timeout=30) as one,
        httpx.AsyncClient(base_url=front.url, timeout=30) as two,
        open_tab(front, one, PAGE, ready="fault none done") as crasher,
        open_tab(front, two, PAGE, ready="fault none done") as bystander,
    ):
        pids = {kernel_pid(crasher), kernel_pid(bystander)}
        assert len(pids) == 2 and worker.proc.pid not in pids
        assert pids <= set(process_tree(worker.proc.pid)[1:])
        assert not pids & set(process_tree(front.proc.pid))  # the front runs no kernel
        crashed = kernel_pid(crasher)
        assert (await crasher.set_value("fault", ["exit"])).status_code == 200
        data = await banner(crasher)
        assert "error code 3" in data["description"], data
        assert await bystander.turn("knob", 8, "knob is 8") < 10
        assert crashed not in process_tree(worker.proc.pid)  # reaped: no zombie
        assert worker.proc.poll() is None  # the worker lives on
