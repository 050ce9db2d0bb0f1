"""A front and a worker in one process: Channels' in-memory layer, a throwaway Redis.

The front's consumer runs under ``WebsocketCommunicator`` and the worker's
loop as a task beside it, so a socket's whole trip (admission, placement,
the numbered frames both ways, closing) is tested without starting a
daphne or a ``notebook_worker`` process. The live cluster tier runs the
same trip across processes and Redis' own layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis as redis_sync
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from devtools.live import server_token
from devtools.redis import RedisServer
from devtools.users import create_test_users
from notebook_host.asgi import get_asgi_application
from notebook_host.marimo.protocol import KERNEL_API_INFIX, SESSION_HEADER
from notebook_host.workers import state
from notebook_host.workers.worker.process import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]

HEADERS = [(b"host", b"localhost"), (b"origin", b"http://localhost")]


@pytest.fixture
async def worker(
    redis_server: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Worker]:
    """One worker on this loop, announced in an empty Redis, stopped afterwards."""
    redis_sync.Redis.from_url(redis_server.url).flushall()
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.NOTEBOOK_HOST = {
        **getattr(settings, "NOTEBOOK_HOST", {}),
        "KERNELS": "workers",
        "REDIS_URL": redis_server.url,
        "WORKER_HEARTBEAT": 0.5,
        "WORKER_EXPIRY": 3,
    }
    monkeypatch.setattr(state, "_sync_client", None)  # the heartbeat thread's, for this Redis
    node = Worker("w-unit", capacity=4, drain_timeout=2.0)
    running = asyncio.create_task(node.run())
    try:
        async with asyncio.timeout(20):
            while not any(w.name == node.name for w in await state.workers()):
                await asyncio.sleep(0.05)
        yield node
    finally:
        node.stopping.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running, 15)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await state.client().aclose()


async def signed_in(username: str) -> tuple[bytes, bytes]:
    await sync_to_async(create_test_users)()
    user = await get_user_model().objects.aget(username=username)
    client = AsyncClient()
    await client.aforce_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def set_value(client: AsyncClient, session_id: str, token: str) -> Any:
    """The page's widget POST to the session's kernel, as marimo's frontend sends it."""
    return await client.post(
        f"/meta{KERNEL_API_INFIX}set_ui_element_value",
        data=json.dumps({"objectIds": [], "values": []}),
        content_type="application/json",
        headers={
            SESSION_HEADER: session_id,
            "origin": "http://testserver",
            "marimo-server-token": token,
        },
    )


async def until_op(socket: WebsocketCommunicator, op: str) -> dict[str, Any]:
    for _ in range(50):
        message = json.loads(await socket.receive_from(timeout=30))
        if message["op"] == op:
            return message
    pytest.fail(f"no {op!r} message")


async def test_a_socket_reaches_a_kernel_in_the_worker_and_is_recorded(worker: Worker) -> None:
    cookie = await signed_in("alice")
    socket = WebsocketCommunicator(
        get_asgi_application(), "/meta/ws?session_id=s_inproc1", headers=[*HEADERS, cookie]
    )
    connected, _ = await socket.connect(timeout=30)
    assert connected
    try:
        ready = await until_op(socket, "kernel-ready")
        assert len(ready["data"]["cell_ids"]) == 3
        entry = await state.session("s_inproc1")
        assert entry is not None and entry.worker == worker.name
        assert "s_inproc1" in worker.kernels and entry.stream in worker.pumps
    finally:
        await socket.disconnect()
    async with asyncio.timeout(10):  # the worker's pump ends with the socket
        while entry.stream in worker.pumps:
            await asyncio.sleep(0.05)


async def test_a_kernel_call_is_forwarded_to_the_worker_and_answered(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str | None] = []
    serve = worker._http

    async def counted(request: dict[str, Any], body: bytes) -> None:
        served.append(request.get("session_id"))
        await serve(request, body)

    monkeypatch.setattr(worker, "_http", counted)
    cookie = await signed_in("alice")
    application = get_asgi_application()
    socket = WebsocketCommunicator(
        application, "/meta/ws?session_id=s_inproc2", headers=[*HEADERS, cookie]
    )
    connected, _ = await socket.connect(timeout=30)
    assert connected
    try:
        await until_op(socket, "kernel-ready")
        client = AsyncClient()
        client.cookies.load(cookie[1].decode())
        page = await client.get("/meta/")
        assert page.status_code == 200
        token = server_token(page.content.decode())
        answer = await set_value(client, "s_inproc2", token)
        assert answer.status_code == 200, answer.content
        assert served == ["s_inproc2"]  # answered by the worker's marimo, not the front
        stranger = AsyncClient()  # signed in, but not the browser that opened the session
        stranger.cookies.load((await signed_in("bob"))[1].decode())
        refused = await set_value(stranger, "s_inproc2", token)
        assert refused.status_code == 404, refused.content  # as for a session that is gone
        assert served == ["s_inproc2"]  # refused on the front: the worker never saw it
    finally:
        await socket.disconnect()
