"""Faults against a live daphne: each leaves every other session working.

A bystander tab (its own kernel session) is driven after every fault and
must answer; the fault's own clients get 4xx answers, never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import statistics
import time
from pathlib import Path

import httpx
import pytest
import websockets

from devtools.live import KernelSocket, LiveServer, cookie_header
from devtools.visitor import Tab, open_tab

pytestmark = pytest.mark.asyncio

PAGE = "/faults/"


async def still_serving(tab: Tab, value: int) -> float:
    """The bystander turns its knob and sees the result; returns the latency."""
    latency = await tab.turn("knob", value, f"knob is {value}", timeout=20)
    assert latency < 10, latency
    return latency


def log_since(live: LiveServer, offset: int) -> str:
    return live.log()[offset:]


def assert_no_server_error(text: str) -> None:
    assert "Traceback" not in text, text[-3000:]
    assert not re.search(r'" 5\d\d ', text), text[-3000:]


async def test_cell_that_raises(live: LiveServer, anon: httpx.AsyncClient) -> None:
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, anon, PAGE, ready="no boom") as faulty,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        for attempt in (1, 2):
            faulty.kernel.outputs.clear()
            assert (await faulty.set_value("boom", attempt)).status_code == 200

            def errored(k: KernelSocket) -> bool:
                # the cell's output is the error notice with its id (docs/metrics.md)
                return any(
                    m.get("op") == "cell-op"
                    and "data-notebook-host='cell-error'"
                    in str((m["data"].get("output") or {}).get("data"))
                    for m in k.messages[-20:]
                )

            await faulty.kernel.wait_for(errored)
            await still_serving(bystander, attempt)
        # the faulty session itself recovers when the input is fixed
        assert await faulty.turn("boom", 0, "no boom") < 10
        # a notebook whose cell raises on load serves its page and others too
        assert (await anon.get("/notracebacks/")).status_code == 200
        async with KernelSocket.open(live, "/notracebacks/", "s_fails_load") as failing:
            await failing.kernel_ready()
        await still_serving(bystander, 9)


async def test_stuck_cell_does_not_stall_other_sessions(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    """One kernel busy-loops for 8 s; another keeps interacting. Prints latencies."""
    spin = 8
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, anon, PAGE, ready="spun 0 s") as stuck,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        baseline = [await still_serving(bystander, v) for v in range(1, 6)]
        stuck.kernel.outputs.clear()
        started = time.monotonic()
        assert (await stuck.set_value("spin seconds", spin)).status_code == 200
        await asyncio.sleep(0.5)  # let the loop start
        during = []
        for v in range(10, 15):
            during.append(await still_serving(bystander, v))
        measured_until = time.monotonic() - started
        await stuck.kernel.output_containing(f"spun {spin} s", timeout=60)
        finished = time.monotonic() - started
        print(
            f"\nother session's latency: idle p50 {statistics.median(baseline) * 1000:.0f} ms,"
            f" during a {spin} s busy loop p50 {statistics.median(during) * 1000:.0f} ms"
            f" max {max(during) * 1000:.0f} ms (5 changes each; loop ended at {finished:.1f} s)"
        )
        # the measurements overlapped the loop, and the loop really ran its time
        assert measured_until < finished
        assert finished >= spin
        assert max(during) < 5.0


@pytest.mark.parametrize("page", ["/volatile/", "/apps/volatile/"])
async def test_notebook_file_rewritten_then_deleted(
    page: str, live: LiveServer, anon: httpx.AsyncClient
) -> None:
    """A deploy rewrites the file, then removes it, under running sessions.

    Through ``notebook()`` a running session keeps its kernel to the end;
    through ``notebook_directory()`` the URL stops resolving, so its next
    call is a clean 404. Either way the other sessions never notice.
    """
    file = Path(live.env["NOTEBOOK_HOST_TEST_APPS"]) / "volatile.py"
    source = (Path(__file__).parent.parent / "notebooks" / "faults.py").read_text()
    file.write_text(source)
    offset = len(live.log())
    try:
        async with (
            httpx.AsyncClient(base_url=live.url, timeout=30) as other,
            httpx.AsyncClient(base_url=live.url, timeout=30) as third,
            open_tab(live, anon, page, ready="knob is 0") as running,
            open_tab(live, other, PAGE, ready="knob is 0") as bystander,
        ):
            file.write_text(source.replace('f"knob is {knob.value}"', 'f"dial is {knob.value}"'))
            assert await running.turn("knob", 4, "knob is 4") < 10  # still its old code
            async with open_tab(live, third, page, ready="dial is 0") as fresh:
                assert await fresh.turn("knob", 6, "dial is 6") < 10
            await still_serving(bystander, 1)
            file.unlink()
            if page == "/volatile/":
                assert await running.turn("knob", 8, "knob is 8") < 10
            else:
                assert (await running.set_value("knob", 8)).status_code == 404
            assert (await third.get(page)).status_code == 404
            await still_serving(bystander, 2)
    finally:
        file.unlink(missing_ok=True)
    assert_no_server_error(log_since(live, offset))


def _raw_request(live: LiveServer, head: bytes, body: bytes = b"", read: int = 0) -> bytes:
    """Send a request by hand and hang up: after ``body``, or after ``read`` bytes."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(head + body)
        got = b""
        while len(got) < read:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


async def test_client_disconnects_mid_request_and_mid_download(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    offset = len(live.log())
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, anon, PAGE, ready="big download") as owner,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        cookies = cookie_header(anon).encode()
        # mid-request: a widget change whose body never finishes arriving
        body = json.dumps({"objectIds": [], "values": []}).encode()
        head = (
            (
                f"POST {PAGE}api/kernel/set_ui_element_value HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{live.port}\r\nOrigin: {live.url}\r\n"
                f"Marimo-Session-Id: {owner.session_id}\r\nMarimo-Server-Token: {owner.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body) + 5000}\r\n"
                "Cookie: "
            ).encode()
            + cookies
            + b"\r\n\r\n"
        )
        for _ in range(3):
            await asyncio.to_thread(_raw_request, live, head, body[:10])
        await still_serving(bystander, 1)
        # mid-download: read the first 64 KiB of a 5 MB file and hang up
        html = await owner.kernel.output_containing("big download")
        url = PAGE + re.search(r"\./(@file/[^&\"']+)", html).group(1)
        head = (
            (f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nCookie: ").encode()
            + cookies
            + b"\r\n\r\n"
        )
        for _ in range(3):
            got = await asyncio.to_thread(_raw_request, live, head, b"", 65536)
            assert got.startswith(b"HTTP/1.1 200"), got[:200]
        await still_serving(bystander, 2)
        # the owner can still download the whole file
        whole = await anon.get(url)
        assert whole.status_code == 200 and len(whole.content) == 5_000_000
        assert await owner.turn("knob", 3, "knob is 3") < 10
    assert_no_server_error(log_since(live, offset))


#: Every POST route of marimo's API (run mode allows the first six).
API_POSTS = [
    "api/kernel/set_ui_element_value",
    "api/kernel/set_model_value",
    "api/kernel/function_call",
    "api/export/html",
    "api/home/workspace_files",
    "api/kernel/read_code",
    "api/kernel/interrupt",
    "api/kernel/stdin",
    "api/kernel/instantiate",
    "api/kernel/run",
    "api/kernel/save",
    "api/kernel/restart_session",
    "api/kernel/shutdown",
    "api/kernel/takeover",
    "api/home/shutdown_session",
]

BAD_BODIES = [
    b"{not json",
    b"\xff\xfe\x00",
    b"NaN",
    b"",
    b"[]",
    b"null",
    b'"text"',
    b"123",
    b"{}",
    b'{"objectIds": 5, "values": "x"}',
    b'{"objectIds": ["a"], "values": []}',
    b'{"objectIds": [], "values": [1, 2]}',
    b'{"objectIds": [null], "values": [1]}',
    b'{"objectIds": ["nope"], "values": [1]}',
    b'{"modelId": 3, "message": 5}',
    b'{"modelId": "m", "message": {"state": 1, "bufferPaths": "x"}, "buffers": 7}',
    b'{"functionCallId": 1, "namespace": null, "functionName": [], "args": "x"}',
    b'{"functionCallId": "f", "namespace": "n", "functionName": "g", "args": {}}',
    b'{"text": 99999999999999999999999999999}',
    b'{"download": "yes", "files": {"a": 1}, "includeCode": "x"}',
]


async def test_malformed_bodies_to_every_post_route_are_4xx(
    live: LiveServer, anon: httpx.AsyncClient
) -> None:
    offset = len(live.log())
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, anon, PAGE, ready="knob is 0") as tab,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        answers: dict[int, int] = {}
        for route in API_POSTS:
            for body in BAD_BODIES:
                response = await anon.post(
                    PAGE + route,
                    content=body,
                    headers={
                        "Origin": live.url,
                        "Marimo-Session-Id": tab.session_id,
                        "Marimo-Server-Token": tab.token,
                        "Content-Type": "application/json",
                    },
                )
                assert 400 <= response.status_code < 500 or response.status_code == 200, (
                    route,
                    body,
                    response.status_code,
                    response.text[:300],
                )
                answers[response.status_code] = answers.get(response.status_code, 0) + 1
        print(f"\n{len(API_POSTS)} routes x {len(BAD_BODIES)} bodies: status counts {answers}")
        assert await tab.turn("knob", 2, "knob is 2") < 10  # the session survived
        await still_serving(bystander, 3)
    assert not re.search(r'" 5\d\d ', log_since(live, offset))


async def test_body_over_upload_limit_is_413(live: LiveServer, anon: httpx.AsyncClient) -> None:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, anon, PAGE, ready="knob is 0") as tab,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        huge = b'{"objectIds": [], "values": [], "pad": "' + b"x" * (limit + 10) + b'"}'
        response = await tab.post("set_ui_element_value", content=huge)
        assert response.status_code == 413, response.text
        assert response.json() == {"detail": "Request body too large"}
        just_under = b'{"objectIds": [], "values": []}'
        assert (await tab.post("set_ui_element_value", content=just_under)).status_code == 200
        await still_serving(bystander, 4)


async def test_websocket_garbage_frames(live: LiveServer, anon: httpx.AsyncClient) -> None:
    offset = len(live.log())
    async with (
        httpx.AsyncClient(base_url=live.url, timeout=30) as other,
        open_tab(live, other, PAGE, ready="knob is 0") as bystander,
    ):
        await anon.get(PAGE)
        garbage: list[str | bytes] = [
            "not json",
            "{",
            json.dumps({"op": "nonsense", "data": 5}),
            json.dumps([1, 2, 3]),
            b"\x00\x01\x02\xff" * 1000,
            "x" * 200_000,
        ]
        for frame in garbage:
            try:
                async with KernelSocket.open(
                    live, PAGE, f"s_garbage_{len(str(frame))}", cookies=cookie_header(anon)
                ) as kernel:
                    await kernel.kernel_ready()
                    await kernel.ws.send(frame)
                    await kernel.ws.send(frame)
                    await asyncio.sleep(0.2)
            except websockets.ConnectionClosed:
                pass  # closing a socket that sends garbage is fine
            await still_serving(bystander, len(str(frame)) % 1000)
        # a fresh, well-behaved tab still works
        async with open_tab(live, anon, PAGE, ready="knob is 0") as fresh:
            assert await fresh.turn("knob", 11, "knob is 11") < 10
    assert_no_server_error(log_since(live, offset))
