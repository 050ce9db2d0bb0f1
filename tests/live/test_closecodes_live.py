"""Every close the server means reaches the browser, with its code, under real daphne.

autobahn refuses to send 1001, 1003, 1008 and 1011; before notebook_host
mapped them (notebook_host.closecodes) such a socket stayed open with no
kernel behind it. The in-memory communicator does not enforce this: only a
real daphne shows it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from devtools.live import KernelSocket, LiveServer, cookie_header
from devtools.visitor import new_session_id
from notebook_host import closecodes

pytestmark = pytest.mark.asyncio

PAGE = "/faults/"


async def test_a_binary_frame_closes_the_socket_with_a_code(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    await anon.get(PAGE)
    cookies = cookie_header(anon)
    async with KernelSocket.open(live, PAGE, new_session_id(), cookies=cookies) as kernel:
        await kernel.kernel_ready()
        await kernel.ws.send(b"\x00\x01binary")
        assert await kernel.closed_with() == closecodes.for_browser(1003) == 4103
    # positive control: a text-only socket stays open and working
    async with KernelSocket.open(live, PAGE, new_session_id(), cookies=cookies) as kernel:
        await kernel.output_containing("knob is 0")
        await asyncio.sleep(1)
        assert kernel.ws.state is websockets.State.OPEN


async def test_marimos_own_refusal_reaches_the_browser(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    await anon.get(PAGE)
    cookies = cookie_header(anon)
    # marimo refuses ?kiosk=true in run mode with 1008
    async with KernelSocket.open(
        live, PAGE, new_session_id(), cookies=cookies, query="kiosk=true"
    ) as kernel:
        assert await kernel.closed_with() == closecodes.for_browser(1008) == 4108
