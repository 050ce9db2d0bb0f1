"""NotebookConsumer in-process, through Channels' WebsocketCommunicator."""

from __future__ import annotations

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from devtools.users import create_test_users
from notebook_host.asgi import get_asgi_application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://localhost")


@pytest.fixture
def application():
    return get_asgi_application()


async def session_cookie(username: str) -> bytes:
    from asgiref.sync import sync_to_async

    await sync_to_async(create_test_users)()
    user = await get_user_model().objects.aget(username=username)
    client = AsyncClient()
    await client.aforce_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(application, path: str, *headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(
        application, f"{path}?session_id=s_unit1", headers=[(b"host", b"localhost"), *headers]
    )


async def test_kernel_ready_for_allowed_user(application) -> None:
    cookie = await session_cookie("alice")
    comm = communicator(application, "/meta/ws", ORIGIN, (b"cookie", cookie))
    connected, _ = await comm.connect(timeout=30)
    assert connected
    try:
        for _ in range(20):
            message = json.loads(await comm.receive_from(timeout=30))
            if message["op"] == "kernel-ready":
                break
        else:
            pytest.fail("no kernel-ready message")
        assert len(message["data"]["cell_ids"]) == 3
    finally:
        await comm.disconnect()


async def test_anonymous_refused_on_login_notebook(application) -> None:
    comm = communicator(application, "/meta/ws", ORIGIN)
    connected, code = await comm.connect(timeout=10)
    assert not connected
    assert code == 4004


async def test_denied_user_refused(application) -> None:
    cookie = await session_cookie("alice")
    comm = communicator(application, "/staff/ws", ORIGIN, (b"cookie", cookie))
    connected, _ = await comm.connect(timeout=10)
    assert not connected


async def test_foreign_origin_refused(application) -> None:
    comm = communicator(application, "/app1/ws", (b"origin", b"http://evil.example"))
    connected, _ = await comm.connect(timeout=10)
    assert not connected


async def test_non_socket_subroute_refused(application) -> None:
    comm = communicator(application, "/app1/health", ORIGIN)
    connected, _ = await comm.connect(timeout=10)
    assert not connected
