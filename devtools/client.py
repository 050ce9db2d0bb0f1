"""A protocol-level marimo client for the benchmarks: what a browser tab sends.

A run-mode page is driven by its kernel websocket ``<page>/ws?session_id=...``
and by ``POST <page>/api/kernel/set_ui_element_value`` on each widget change
(headers ``Marimo-Session-Id`` and ``Marimo-Server-Token``, plus the
``Origin`` a browser adds). Both the side-by-side benchmark (bench/compare/)
and the soak (bench/soak.py) drive the demo's dashboard slider through these.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import websockets

from devtools.live import KernelSocket

DASHBOARD = "/dashboard/"
SLIDER_LABEL = "Points"


def marker(points: int) -> str:
    """The dashboard's dependent output for a slider value, as the kernel sends it."""
    return f"<strong>{points} points</strong>"


def next_value(i: int) -> int:
    """Slider values for successive changes: 11, 12, 11, ... (never the previous one)."""
    return 11 + i % 2


def new_session_id() -> str:
    """A session id as marimo's frontend makes one per tab."""
    return "s_" + uuid.uuid4().hex[:10]


def api_headers(origin: str, session_id: str, token: str) -> dict[str, str]:
    """The headers marimo's frontend sends with every kernel API call."""
    return {"Origin": origin, "Marimo-Session-Id": session_id, "Marimo-Server-Token": token}


@contextlib.asynccontextmanager
async def kernel_socket(
    ws_url: str,
    page: str,
    session_id: str,
    *,
    origin: str,
    cookies: str = "",
    open_timeout: float = 60,
) -> AsyncIterator[KernelSocket]:
    """The kernel websocket as a browser opens it (no client pings, which browsers never send)."""
    headers = {"Origin": origin}
    if cookies:
        headers["Cookie"] = cookies
    async with websockets.connect(
        f"{ws_url}{page}ws?session_id={session_id}",
        additional_headers=headers,
        open_timeout=open_timeout,
        ping_interval=None,
        max_size=None,
    ) as ws:
        yield KernelSocket(ws)


async def set_value(
    client: httpx.AsyncClient,
    page: str,
    headers: dict[str, str],
    object_id: str,
    value: int,
    retries: list[int],
) -> httpx.Response:
    """POST one widget change, as marimo's frontend does.

    Like a browser, it retries once when a reused keep-alive connection was
    closed by the server before any response (uvicorn closes connections idle
    for 5 s; a session waiting longer for its output hits that race). Each
    retry is counted in ``retries``.
    """
    for attempt in range(2):
        try:
            return await client.post(
                page + "api/kernel/set_ui_element_value",
                json={"objectIds": [object_id], "values": [value]},
                headers=headers,
            )
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError):
            if attempt:
                raise
            retries.append(1)
    raise AssertionError("unreachable")
