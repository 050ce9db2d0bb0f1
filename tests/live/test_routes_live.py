"""The route table against a live daphne: what a run-mode page does not use is refused.

Each refusal comes with a positive control: the route a page does use, for
the same visitor and notebook, still works.
"""

from __future__ import annotations

import httpx
import pytest
import websockets

from devtools.live import ROOT, KernelSocket, LiveServer, cookie_header
from devtools.visitor import new_session_id, open_tab

pytestmark = pytest.mark.asyncio

PAGE = "/faults/"


async def status_of_stream(client: httpx.AsyncClient, url: str) -> int:
    """The status of a GET whose body may never end (an SSE stream)."""
    async with client.stream("GET", url, timeout=10) as response:
        return response.status_code


async def test_sse_neither_starts_nor_takes_over_a_kernel(
    live: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    async with open_tab(live, alice, PAGE, ready="knob is 0") as tab:
        # an anonymous visitor asks for a fresh kernel; bob for alice's
        assert await status_of_stream(anon, f"{PAGE}sse?session_id={new_session_id()}") == 404
        assert await status_of_stream(bob, f"{PAGE}sse?session_id={tab.session_id}") == 404
        assert await status_of_stream(alice, f"{PAGE}sse?session_id={tab.session_id}") == 404
        # alice's socket was not taken over: her kernel still answers her
        assert await tab.turn("knob", 3, "knob is 3") < 10
        assert tab.kernel.ws.state is websockets.State.OPEN


@pytest.mark.parametrize(
    ("method", "subpath"),
    [
        ("GET", "api/status"),
        ("GET", "api/status/connections"),
        ("GET", "api/version"),
        ("GET", "og/thumbnail"),
        ("GET", "auth/login"),
        ("POST", "api/home/workspace_files"),
        ("POST", "api/home/running_notebooks"),
        ("POST", "api/kernel/run"),
        ("POST", "api/kernel/instantiate"),
        ("POST", "api/files/list_files"),
    ],
)
async def test_routes_a_page_does_not_use_are_404_even_for_the_owner(
    live: LiveServer, anon: httpx.AsyncClient, method: str, subpath: str
) -> None:
    async with open_tab(live, anon, PAGE, ready="knob is 0") as tab:
        headers = {
            "Origin": live.url,
            "Marimo-Session-Id": tab.session_id,
            "Marimo-Server-Token": tab.token,
        }
        response = await anon.request(
            method, PAGE + subpath, headers=headers, json={"includeMarkdown": True}
        )
        assert response.status_code == 404, (subpath, response.text[:200])
        assert str(ROOT) not in response.text
        # positive control: the same owner's widget change goes through
        assert (await tab.set_value("knob", 1)).status_code == 200


async def test_no_cors_and_no_server_paths(live: LiveServer, anon: httpx.AsyncClient) -> None:
    page = await anon.get(PAGE, headers={"Origin": "http://evil.test"})
    assert page.status_code == 200
    assert "access-control-allow-origin" not in page.headers
    assert "faults.py" in page.text  # the file's name only, no path of this machine
    for absolute in (str(ROOT), "/tests/notebooks/", "file://"):
        assert absolute not in page.text, absolute
    preflight = await anon.options(
        PAGE + "api/kernel/set_ui_element_value",
        headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    health = await anon.get(PAGE + "health", headers={"Origin": "http://evil.test"})
    assert health.status_code == 200 and "access-control-allow-origin" not in health.headers


async def socket_status(live: LiveServer, path: str, cookies: str = "") -> str:
    """ "ready" when the socket reached kernel-ready, else why it did not."""
    headers = {"Origin": live.url, "Cookie": cookies}
    try:
        async with websockets.connect(
            live.ws_url + path, additional_headers=headers, open_timeout=20
        ) as ws:
            kernel = KernelSocket(ws)
            await kernel.kernel_ready(timeout=30)
            return "ready"
    except websockets.InvalidStatus as exc:
        return f"http {exc.response.status_code}"
    except websockets.ConnectionClosed as exc:
        return f"closed {exc.rcvd.code if exc.rcvd else None}"


async def test_sockets_without_a_session_or_to_ws_sync_are_refused(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    await anon.get(PAGE)
    cookies = cookie_header(anon)
    assert await socket_status(live, f"{PAGE}ws", cookies) == "http 403"
    assert await socket_status(live, f"{PAGE}ws?session_id=", cookies) == "http 403"
    assert await socket_status(live, f"{PAGE}ws_sync", cookies) == "http 403"
    assert await socket_status(live, f"{PAGE}ws_sync?session_id=x", cookies) == "http 403"
    # positive control: the page's own socket, with its session id
    assert await socket_status(live, f"{PAGE}ws?session_id={new_session_id()}", cookies) == "ready"
