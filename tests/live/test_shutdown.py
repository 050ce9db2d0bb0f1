"""Clean shutdown: SIGTERM to the server with live kernel sessions exits fast and clean."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest

from devtools.live import SERVER_ENV, KernelSocket, LiveServer
from notebook_host import closecodes


@pytest.fixture
def server(tmp_path: Path):
    live = LiveServer(tmp_path)
    live.prepare()
    live.start()
    yield live
    live.stop()


async def test_sigterm_with_live_sessions_exits_within_5s(server: LiveServer) -> None:
    async with (
        KernelSocket.open(server, "/app1/", "s_" + uuid.uuid4().hex[:8]) as first,
        KernelSocket.open(server, "/app2/", "s_" + uuid.uuid4().hex[:8]) as second,
    ):
        await first.output_containing("app1 says hi")
        await second.output_containing("app2 says hi")
        # A third session whose socket closed: its kernel waits out the TTL.
        async with KernelSocket.open(server, "/code/", "s_" + uuid.uuid4().hex[:8]) as third:
            await third.output_containing("app1 says hi")
        started = time.monotonic()
        code = await asyncio.to_thread(server.stop, 10)
        elapsed = time.monotonic() - started
    assert code == server.clean_exit, server.log()[-2000:]
    print(f"{server.server} exited in {elapsed:.2f}s")
    assert elapsed < 5, f"{server.server} took {elapsed:.1f}s to exit"
    assert "Closing 3 kernel session(s) before shutdown" in server.log()


async def test_sigterm_tells_open_sockets_the_server_is_going_away(server: LiveServer) -> None:
    async with KernelSocket.open(server, "/app1/", "s_" + uuid.uuid4().hex[:8]) as kernel:
        await kernel.output_containing("app1 says hi")
        reader = asyncio.create_task(kernel.closed_with())
        code = await asyncio.to_thread(server.stop, 10)
        # daphne: our 1001 (going away) as autobahn will send it, 4101; uvicorn
        # closes its sockets itself (1012, service restart) before the
        # lifespan's shutdown. Either way a close the tab reconnects after,
        # not an abrupt 1006.
        expected = {"daphne": closecodes.for_browser(closecodes.GOING_AWAY), "uvicorn": 1012}
        assert await reader == expected[server.server]
    assert code == server.clean_exit, server.log()[-2000:]


def test_the_server_is_the_one_the_tier_asked_for(server: LiveServer) -> None:
    # make test's front tier sets NOTEBOOK_HOST_ASGI_SERVER: a run that
    # silently fell back to daphne would prove nothing about uvicorn.
    assert server.server == os.environ.get(SERVER_ENV, "daphne")
    banner = {"daphne": "Listening on TCP address", "uvicorn": "Uvicorn running on"}
    assert banner[server.server] in server.log(), server.log()[-2000:]
