"""Clean shutdown: SIGTERM to daphne with live kernel sessions exits fast, code 0."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from devtools.live import KernelSocket, LiveServer
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
    assert code == 0, server.log()[-2000:]
    print(f"daphne exited in {elapsed:.2f}s")
    assert elapsed < 5, f"daphne took {elapsed:.1f}s to exit"
    assert "Closing 3 kernel session(s) before shutdown" in server.log()


async def test_sigterm_tells_open_sockets_the_server_is_going_away(server: LiveServer) -> None:
    async with KernelSocket.open(server, "/app1/", "s_" + uuid.uuid4().hex[:8]) as kernel:
        await kernel.output_containing("app1 says hi")
        reader = asyncio.create_task(kernel.closed_with())
        code = await asyncio.to_thread(server.stop, 10)
        # 1001 (going away) as autobahn will send it: 4101, not an abrupt 1006
        assert await reader == closecodes.for_browser(closecodes.GOING_AWAY) == 4101
    assert code == 0, server.log()[-2000:]
