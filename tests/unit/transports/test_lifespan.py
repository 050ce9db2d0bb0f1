"""The ASGI lifespan: startup answered at once, shutdown closes the sessions first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from notebook_host.runtime import shutdown
from notebook_host.transports.lifespan import lifespan


async def test_startup_then_shutdown_closes_sessions_before_saying_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []

    async def close_everything(*, finish_pending: bool = True) -> None:
        events.append(f"closed finish_pending={finish_pending}")

    monkeypatch.setattr(shutdown, "close_everything", close_everything)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    await asyncio.wait_for(lifespan({"type": "lifespan"}, receive, send), 5)
    # The server finishes its own tasks (its main task among them) afterwards.
    assert events == [
        "lifespan.startup.complete",
        "closed finish_pending=False",
        "lifespan.shutdown.complete",
    ]


def test_the_application_routes_the_lifespan() -> None:
    from notebook_host.asgi import get_asgi_application

    assert get_asgi_application().application_mapping["lifespan"] is lifespan
