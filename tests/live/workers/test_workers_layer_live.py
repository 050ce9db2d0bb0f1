"""The core layer keeps a message when the receiver popping for it is cancelled.

Two sockets of one process wait on their channels; the first holds the
receive lock (it is in BZPOPMIN for both). Another process sends a message
for the second while this one's event loop is busy, and the first socket
closes before the loop reads Redis's answer, as Channels cancels a closing
consumer's receive. channels_redis' own layer drops the message (the
control); notebook_host's hands it to the second socket.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from channels_redis.core import RedisChannelLayer

from devtools.redis import RedisServer, running
from notebook_host.workers.layer import CoreChannelLayer

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running() as server:
        yield server


def send_from_another_process(url: str, channel: str, message: dict) -> None:
    """Send on a layer of its own, blocking this event loop until Redis has answered the pop."""

    async def send() -> None:
        other = RedisChannelLayer(hosts=[url])
        await other.send(channel, message)
        await other.close_pools()

    sender = threading.Thread(target=asyncio.run, args=(send(),))
    sender.start()
    sender.join()
    time.sleep(0.1)  # the popping receiver's answer is in its socket, unread


async def cancelled_while_popping(layer: RedisChannelLayer, url: str) -> dict | None:
    """What the second socket receives (None: nothing within 2 s)."""
    leaving, staying = await layer.new_channel(), await layer.new_channel()
    popping = asyncio.ensure_future(layer.receive(leaving))
    await asyncio.sleep(0.2)  # it takes the lock and blocks in BZPOPMIN
    waiting = asyncio.ensure_future(layer.receive(staying))
    await asyncio.sleep(0.1)
    try:
        send_from_another_process(url, staying, {"type": "frame", "n": 1})
        popping.cancel()  # the first socket closes as its pop is answered
        with pytest.raises(asyncio.CancelledError):
            await popping
        try:
            return await asyncio.wait_for(waiting, 2)
        except TimeoutError:
            return None
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await layer.flush()
        await layer.close_pools()


async def test_stock_core_layer_drops_the_message(redis_server: RedisServer) -> None:
    """The control: the loss this module exists for, on channels_redis' layer."""
    lost = 0
    for _ in range(2):
        got = await cancelled_while_popping(
            RedisChannelLayer(hosts=[redis_server.url]), redis_server.url
        )
        lost += got is None
    assert lost == 2


async def test_a_cancelled_pop_hands_its_message_on(redis_server: RedisServer) -> None:
    for n in range(3):
        got = await cancelled_while_popping(
            CoreChannelLayer(hosts=[redis_server.url]), redis_server.url
        )
        assert got == {"type": "frame", "n": 1}, n


async def test_a_message_for_the_leaving_socket_is_not_kept(redis_server: RedisServer) -> None:
    layer = CoreChannelLayer(hosts=[redis_server.url])
    leaving = await layer.new_channel()
    popping = asyncio.ensure_future(layer.receive(leaving))
    await asyncio.sleep(0.2)
    send_from_another_process(redis_server.url, leaving, {"type": "frame"})
    popping.cancel()
    await asyncio.gather(popping, return_exceptions=True)
    assert leaving not in layer.receive_buffer or layer.receive_buffer[leaving].empty()
    await layer.close_pools()


async def test_an_idle_cancel_waits_at_most_one_pop(redis_server: RedisServer) -> None:
    """Nothing arrives: the cancelled receive ends within the layer's pop timeout."""
    layer = CoreChannelLayer(hosts=[redis_server.url], capacity=100)
    layer.brpop_timeout = 1
    popping = asyncio.ensure_future(layer.receive(await layer.new_channel()))
    await asyncio.sleep(0.2)
    started = asyncio.get_running_loop().time()
    popping.cancel()
    await asyncio.gather(popping, return_exceptions=True)
    assert asyncio.get_running_loop().time() - started < 2
    assert layer.receive_lock is None  # the last receiver out dropped it, as upstream
    await layer.close_pools()
