"""A protocol-level browser tab: loads the page, opens the kernel socket, clicks.

It does what marimo's frontend does (page GET for the cookies and server
token, websocket with a fresh session id, API POSTs with the session and
token headers), so tests can drive several independent tabs at once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.client import new_session_id
from devtools.live import KernelSocket, LiveServer, cookie_header, server_token

__all__ = ["Tab", "new_session_id", "open_tab"]


@dataclass
class Tab:
    """One open notebook page: its client, socket, session id and token."""

    live: LiveServer
    client: httpx.AsyncClient
    page: str
    session_id: str
    token: str
    kernel: KernelSocket
    #: UI element object ids by label, found before outputs are cleared.
    ids: dict[str, str] = field(default_factory=dict)
    #: Outputs as they were when the tab opened (tests clear ``kernel.outputs``).
    first_outputs: dict[str, str] = field(default_factory=dict)

    async def post(
        self, route: str, body: Any = None, *, content: bytes | None = None, **headers: str
    ) -> httpx.Response:
        """POST to ``<page>/api/kernel/<route>`` as the frontend does."""
        all_headers = {
            "Origin": self.live.url,
            "Marimo-Session-Id": self.session_id,
            "Marimo-Server-Token": self.token,
            **headers,
        }
        if content is not None:
            return await self.client.post(
                self.page + "api/kernel/" + route, content=content, headers=all_headers
            )
        return await self.client.post(
            self.page + "api/kernel/" + route, json=body, headers=all_headers
        )

    def object_id(self, label: str) -> str:
        """A UI element's id, from the outputs seen when the tab opened."""
        if label not in self.ids:
            saved = self.kernel.outputs
            self.kernel.outputs = self.first_outputs
            try:
                self.ids[label] = self.kernel.object_id(label)
            finally:
                self.kernel.outputs = saved
        return self.ids[label]

    async def set_value(self, label: str, value: Any) -> httpx.Response:
        self.object_id(label)
        return await self.post(
            "set_ui_element_value", {"objectIds": [self.ids[label]], "values": [value]}
        )

    async def turn(self, label: str, value: Any, expect: str, timeout: float = 30) -> float:
        """Set a widget and wait for ``expect`` in an output; returns seconds taken."""
        self.object_id(label)
        start = time.monotonic()
        self.kernel.outputs.clear()
        response = await self.set_value(label, value)
        assert response.status_code == 200, response.text
        await self.kernel.output_containing(expect, timeout=timeout)
        return time.monotonic() - start


@contextlib.asynccontextmanager
async def open_tab(
    live: LiveServer,
    client: httpx.AsyncClient,
    page: str,
    *,
    ready: str | None = None,
    session_id: str | None = None,
) -> AsyncIterator[Tab]:
    """Load ``page`` with ``client``, open its kernel socket, wait for ``ready``."""
    response = await client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    session_id = session_id or new_session_id()
    async with KernelSocket.open(live, page, session_id, cookies=cookie_header(client)) as kernel:
        # daphne sometimes leaves the TCP close after a clean close handshake
        # to the client (seen with several faults.py kernels at once); a tab
        # that closes does not wait for it.
        kernel.ws.close_timeout = 1
        await kernel.kernel_ready()
        if ready:
            await kernel.output_containing(ready)
        yield Tab(
            live,
            client,
            page,
            session_id,
            server_token(response.text),
            kernel,
            first_outputs=dict(kernel.outputs),
        )
