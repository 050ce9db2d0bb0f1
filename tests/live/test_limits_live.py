"""Session limits against a live daphne with MAX_SESSIONS=3, PER_USER=2.

SESSION_TTL is 60 s there, so a closed tab's kernel is still waiting when
the next tab needs its slot; /faults-ttl4/ has a 4 s TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from devtools.folders import make_folders
from devtools.live import LiveServer, cookie_header, login
from devtools.users import PASSWORD
from devtools.visitor import new_session_id, open_tab

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGE = "/faults-login/"
TTL4 = "/faults-ttl4/"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir: Path = tmp_path_factory.mktemp("limits")
    server = LiveServer(
        workdir, settings="tests.projects.limits.settings", env=make_folders(workdir)
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def signed_in(server: LiveServer, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await login(client, username, PASSWORD)
        yield client


@contextlib.asynccontextmanager
async def refused_socket(
    server: LiveServer, client: httpx.AsyncClient, page: str = PAGE
) -> AsyncIterator[tuple[Any, list[dict]]]:
    """A kernel socket past the limit, and the frames that say why."""
    url = f"{server.ws_url}{page}ws?session_id={new_session_id()}"
    headers = {"Origin": server.url, "Cookie": cookie_header(client)}
    async with websockets.connect(url, additional_headers=headers, close_timeout=1) as ws:
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(2)]
        yield ws, frames


def assert_says_too_many(frames: list[dict], which: str) -> None:
    """marimo's frontend shows kernel-startup-error in a dialog: our message."""
    assert [f["op"] for f in frames] == ["kernel-startup-error", "banner"]
    assert f"Too many open sessions {which}" in frames[0]["data"]["error"]
    assert "close a tab or retry in" in frames[0]["data"]["error"]
    assert frames[1]["data"]["description"] == frames[0]["data"]["error"]


async def sessions_count(server: LiveServer) -> dict:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return (await client.get("/registered/health/")).json()


async def test_per_user_limit_page_429_socket_told_and_tab_close_frees(
    small: LiveServer,
) -> None:
    async with (
        signed_in(small, "alice") as alice,
        open_tab(small, alice, PAGE, ready="knob is 0"),
    ):
        async with open_tab(small, alice, PAGE, ready="knob is 0") as second:
            page = await alice.get(PAGE)
            assert page.status_code == 429
            assert "Too many open sessions for your account (limit 2)" in page.text
            assert "close a tab or retry in" in page.text
            assert (
                f'<meta http-equiv="refresh" content="{page.headers["Retry-After"]}">' in page.text
            )
            retry = int(page.headers["Retry-After"])
            assert 1 <= retry <= 60  # no tab is closed: at most one TTL
            as_json = await alice.get(PAGE, headers={"Accept": "application/json"})
            assert as_json.status_code == 429
            assert as_json.json()["retry_after"] >= 1
            # a socket opened past the page (another tab racing) gets no
            # kernel: it is told why and waits, open, for a free slot
            async with refused_socket(small, alice) as (waiting, frames):
                assert_says_too_many(frames, "for your account (limit 2)")
                closed_id = second.session_id
                await second.kernel.ws.close()  # the user closes a tab ...
                # ... and the waiting page is told to reload, which opens a session
                reload = json.loads(await asyncio.wait_for(waiting.recv(), 10))
                assert reload["op"] == "reload"
        # one tab closed: its slot is free at once for the same user
        assert (await alice.get(PAGE)).status_code == 200
        async with open_tab(small, alice, PAGE, ready="knob is 0") as third:
            assert await third.turn("knob", 1, "knob is 1") < 10
    log = small.log()
    assert f"Closing disconnected session {closed_id} to make room (user limit)" in log
    assert "Refused page /faults-login/ for alice" in log


async def test_process_limit_and_slots_free_within_ttl(small: LiveServer) -> None:
    async with signed_in(small, "alice") as alice, signed_in(small, "bob") as bob:
        async with (
            signed_in(small, "carol") as carol,
            open_tab(small, alice, TTL4, ready="knob is 0"),
            open_tab(small, alice, TTL4, ready="knob is 0"),
            open_tab(small, bob, TTL4, ready="knob is 0"),
        ):
            page = await carol.get(TTL4)
            assert page.status_code == 429
            assert "Too many open sessions on this server (limit 3)" in page.text
            async with refused_socket(small, carol, TTL4) as (_, frames):
                assert_says_too_many(frames, "on this server (limit 3)")
            before = await sessions_count(small)
            assert before["connected_sessions"] == 3
            closing = time.monotonic()
        # every tab closed: within the TTL (4 s) marimo drops the kernels and
        # the directory forgets them, with no new session needed to evict them
        while (await sessions_count(small))["sessions"] > before["sessions"] - 3:
            assert time.monotonic() - closing < 4 + 6, await sessions_count(small)
            await asyncio.sleep(0.25)
        print(f"\nclosed tabs freed their slots {time.monotonic() - closing:.1f} s after closing")
        async with (
            signed_in(small, "carol") as carol,
            open_tab(small, carol, TTL4, ready="knob is 0") as tab,
        ):
            assert await tab.turn("knob", 2, "knob is 2") < 10
