"""Metrics and kernel logs on a real daphne (local kernels).

One server with a metrics bearer token and the ``notebook_host.kernel``
loggers writing JSON lines to a file, as a project's LOGGING would: the
metrics endpoint is scraped before and after real sessions, widget changes,
refusals and cell errors; the log file must hold each cell error with its
notebook, user, session and the error id the viewer was shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from devtools.folders import make_folders
from devtools.live import KernelSocket, LiveServer, login
from devtools.users import PASSWORD
from devtools.visitor import new_session_id, open_tab
from tests.support.jsonlog import KERNEL_FIELDS, read_records
from tests.support.scrape import ERROR_ID, TOKEN, Samples, scrape, value

METRICS = "/registered/metrics/"
PAGE = "/faults/"


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir: Path = tmp_path_factory.mktemp("observed")
    env = {
        **make_folders(workdir),
        "NOTEBOOK_HOST_TEST_METRICS_TOKEN": TOKEN,
        "NOTEBOOK_HOST_TEST_KERNEL_LOG": str(workdir / "kernel.jsonl"),
        # Without DEBUG, only staff see a failed cell's error text.
        "DJANGO_DEBUG": "0",
    }
    server = LiveServer(workdir, env=env)
    server.prepare()
    server.start()
    yield server
    server.stop()


def kernel_log(server: LiveServer) -> Path:
    return server.workdir / "kernel.jsonl"


async def scrape_front(server: LiveServer) -> Samples:
    return await scrape(server.url + METRICS)


async def test_metrics_need_staff_or_the_token(observed: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as anon:
        assert (await anon.get(METRICS)).status_code == 404
        wrong = await anon.get(METRICS, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 404
        assert (await anon.get(METRICS, headers={"Authorization": TOKEN})).status_code == 404
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as alice:
        await login(alice, "alice", PASSWORD)
        assert (await alice.get(METRICS)).status_code == 404  # signed in, not staff
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as root:
        await login(root, "root", PASSWORD)
        response = await root.get(METRICS)
        assert response.status_code == 200
        assert "notebook_host_sessions_open" in response.text
        assert "no-cache" in response.headers.get("cache-control", "")
    assert "Metrics refused" in observed.log()


async def test_metrics_move_with_sessions_changes_refusals_and_errors(
    observed: LiveServer,
) -> None:
    before = await scrape_front(observed)
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as client:
        async with open_tab(observed, client, PAGE, ready="no boom") as tab:
            for knob in (1, 2, 3):
                await tab.turn("knob", knob, f"knob is {knob}")
            tab.kernel.outputs.clear()
            assert (await tab.set_value("boom", 2)).status_code == 200
            await tab.kernel.output_containing("error id")
            during = await scrape_front(observed)
        # an anonymous socket to a staff notebook is refused (login needed)
        with pytest.raises((websockets.InvalidStatus, websockets.ConnectionClosed)):
            async with KernelSocket.open(observed, "/staff/", new_session_id()) as refused:
                await refused.next(timeout=10)
    after = await scrape_front(observed)

    label = {"notebook": "/faults/"}
    started = "notebook_host_sessions_started_total"
    assert value(after, started, **label) == value(before, started, **label) + 1
    count = "notebook_host_kernel_start_seconds_count"
    assert value(after, count, **label) == value(before, count, **label) + 1
    total = "notebook_host_kernel_start_seconds_sum"
    assert 0 < value(after, total, **label) - value(before, total, **label) < 60
    changes = "notebook_host_widget_change_seconds_count"
    assert value(after, changes) - value(before, changes) >= 3
    slow = "notebook_host_widget_change_seconds_bucket"
    assert value(after, slow, le="10.0") - value(before, slow, le="10.0") >= 3
    refused_login = ("notebook_host_sessions_refused_total", {"reason": "login"})
    assert value(after, refused_login[0], **refused_login[1]) == (
        value(before, refused_login[0], **refused_login[1]) + 1
    )
    errors = "notebook_host_cell_errors_total"
    assert value(after, errors, **label) == value(before, errors, **label) + 1
    open_now = "notebook_host_sessions_open"
    assert value(during, open_now, notebook="/faults/", state="connected") == 1


async def test_cell_error_reaches_the_django_handler_with_its_fields(
    observed: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as alice:
        await login(alice, "alice", PASSWORD)
        async with open_tab(observed, alice, "/faults-login/", ready="no boom") as tab:
            tab.kernel.outputs.clear()
            assert (await tab.set_value("boom", 7)).status_code == 200
            shown = await tab.kernel.output_containing("error id")
    match = ERROR_ID.search(shown)
    assert match, shown
    assert "boom-on-demand-7" not in shown  # alice is not staff: no error text
    assert "quote its id when you report the problem" in shown
    record = await record_with(observed, match.group(1))
    assert record["logger"] == "notebook_host.kernel.cells"
    assert record["level"] == "ERROR"
    assert record["notebook"] == "/faults-login/"
    assert record["user_id"] == user_id_of(observed, "alice")
    assert record["session_id"] == tab.session_id
    assert record["exception_type"] == "ValueError"
    assert "boom-on-demand-7" in record["message"]
    assert "Traceback" in record["kernel_traceback"]
    assert all(record.get(field) not in (None, "") for field in KERNEL_FIELDS)


async def test_staff_see_the_error_and_its_id(observed: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=observed.url, timeout=30) as root:
        await login(root, "root", PASSWORD)
        async with open_tab(observed, root, "/faults-login/", ready="no boom") as tab:
            tab.kernel.outputs.clear()
            assert (await tab.set_value("boom", 5)).status_code == 200
            shown = await tab.kernel.output_containing("error id")
    assert "boom-on-demand-5" in shown
    match = ERROR_ID.search(shown)
    assert match, shown
    assert (await record_with(observed, match.group(1)))["session_id"] == tab.session_id


async def test_prints_reach_the_stdout_logger(observed: LiveServer) -> None:
    async with (
        httpx.AsyncClient(base_url=observed.url, timeout=30) as client,
        open_tab(observed, client, "/noconsole/") as tab,
    ):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            printed = [
                r
                for r in read_records(kernel_log(observed))
                if r["logger"] == "notebook_host.kernel.stdout"
                and r["session_id"] == tab.session_id
            ]
            if printed:
                break
            await asyncio.sleep(0.2)
    assert printed, "no print reached notebook_host.kernel.stdout"
    assert printed[0]["message"] == "console-marker-7d1f"
    assert printed[0]["notebook"] == "/noconsole/"


def user_id_of(server: LiveServer, username: str) -> int:
    """The user's pk, read from the live server's own SQLite file."""
    with contextlib.closing(sqlite3.connect(server.workdir / "db.sqlite3")) as db:
        row = db.execute("SELECT id FROM auth_user WHERE username = ?", (username,)).fetchone()
    assert row, username
    return int(row[0])


async def record_with(server: LiveServer, error_id: str, timeout: float = 10) -> dict:
    """The kernel log record carrying ``error_id`` (the handler writes as it logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in read_records(kernel_log(server)):
            if record.get("error_id") == error_id:
                return record
        await asyncio.sleep(0.2)
    raise AssertionError(f"no kernel record with error id {error_id}")


def started(samples: Samples) -> float:
    """Kernel sessions started, over every notebook label."""
    return sum(
        v for (name, _), v in samples.items() if name == "notebook_host_sessions_started_total"
    )


async def test_several_processes_of_a_host_are_scraped_as_one(tmp_path: Path) -> None:
    """prometheus_client's multiprocess mode: one front's answer counts its siblings' sessions."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    servers = []
    try:
        for name in ("one", "two"):
            workdir = tmp_path / name
            workdir.mkdir()
            env = {
                **make_folders(workdir),
                "NOTEBOOK_HOST_TEST_METRICS_TOKEN": TOKEN,
                "PROMETHEUS_MULTIPROC_DIR": str(shared),
            }
            server = LiveServer(workdir, env=env)
            server.prepare()
            servers.append(server.start())
        one, two = servers
        assert started(await scrape_front(one)) == 0
        for server in servers:
            async with (
                httpx.AsyncClient(base_url=server.url, timeout=30) as client,
                open_tab(server, client, PAGE, ready="knob is 0"),
            ):
                pass
        # each process started one session (alone, each would answer 1); either answers for both
        assert started(await scrape_front(one)) == 2
        assert started(await scrape_front(two)) == 2
    finally:
        for server in servers:
            server.stop()
