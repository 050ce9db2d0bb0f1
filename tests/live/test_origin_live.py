"""One origin rule for the kernel socket and marimo's POSTs, against a live daphne.

Channels' AllowedHostsOriginValidator compares host names only; the socket
now gets the rule the POSTs get: this site's scheme, host and port.
"""

from __future__ import annotations

import httpx
import pytest
import websockets

from devtools.live import KernelSocket, LiveServer, cookie_header
from devtools.visitor import new_session_id, open_tab

pytestmark = pytest.mark.asyncio

PAGE = "/faults/"


def foreign_origins(live: LiveServer) -> list[str]:
    port = live.url.rsplit(":", 1)[1]
    return [
        "http://127.0.0.1:9999",  # same host, another port
        f"https://127.0.0.1:{port}",  # same host and port, another scheme
        "http://localhost:1234",  # an allowed host name, another port
        "http://evil.test",
        "null",
    ]


async def test_a_socket_from_another_origin_is_refused(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    await anon.get(PAGE)
    cookies = cookie_header(anon)
    for origin in foreign_origins(live):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with KernelSocket.open(
                live, PAGE, new_session_id(), cookies=cookies, origin=origin
            ) as kernel:
                await kernel.kernel_ready()
        assert refused.value.response.status_code == 403, origin
    # positive control: the site's own origin reaches the kernel
    async with KernelSocket.open(live, PAGE, new_session_id(), cookies=cookies) as kernel:
        await kernel.kernel_ready()


async def test_a_null_origin_post_is_refused_whatever_the_referer(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    async with open_tab(live, anon, PAGE, ready="knob is 0") as tab:
        refused = await tab.post(
            "set_ui_element_value",
            {"objectIds": [tab.object_id("knob")], "values": [2]},
            Origin="null",
            Referer=live.url + PAGE,
        )
        assert refused.status_code == 403, refused.text
        # positive control: the same call from the page's origin
        assert (await tab.set_value("knob", 2)).status_code == 200
