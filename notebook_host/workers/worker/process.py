"""The worker process: marimo apps and kernels, driven through the channel layer.

A worker listens on one channel of the layer (announced in its heartbeat) and
does only what fronts ask there: answer a forwarded HTTP request, run a
kernel socket (a pump of numbered frames between the front's consumer and
marimo's Starlette app, fed the scope the front admitted), close a session.
It decides nothing about access: fronts do, before anything is forwarded.

SIGTERM (or SIGINT) drains: the heartbeat says "draining" so fronts place
no new session here; open sockets keep working until they close or
``drain_timeout`` passes, then they are ended with a message, and the
process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

from channels.layers import get_channel_layer

from ...marimo.patches import initialise
from ...metrics import record as metrics
from ...runtime import collector
from ...runtime.notebook_apps import apps
from .. import state
from ..protocol import CLOSE_DRAINED, CLOSE_SESSION, HTTP, WS_CONNECT, WS_IN, WS_PING
from .heartbeat import Heartbeat
from .serving import HttpServing
from .sockets import Sockets

logger = logging.getLogger(__name__)


class Worker(Heartbeat, Sockets, HttpServing):
    """A ``manage.py notebook_worker`` process (see the module docstring)."""

    async def run(self) -> int:
        initialise()
        self.layer = get_channel_layer()
        if self.layer is None:
            raise RuntimeError("notebook_worker needs CHANNEL_LAYERS (channels_redis)")
        self.channel = await self.layer.new_channel()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        receiving = asyncio.create_task(self._receive_forever())
        with contextlib.suppress(state.ClusterUnavailable):
            await self.beat()  # announced before it says it is ready
        beating = asyncio.create_task(self._beat_forever())
        collector.tune()  # start-up is done: what it loaded stays
        logger.info(
            "Worker %s ready on %s (capacity %d, pid %d)",
            self.name,
            self.channel,
            self.capacity,
            os.getpid(),
        )
        self.alive.ready()
        await self.stopping.wait()
        await self._drain()
        receiving.cancel()
        beating.cancel()
        self._beats_stop.set()  # no beat may follow the leave below
        with contextlib.suppress(state.ClusterUnavailable):
            await state.leave(self.name)
        await apps.shutdown(3.0)
        self.alive.stopped()
        logger.info("Worker %s stopped", self.name)
        return 0

    async def _drain(self) -> None:
        self.draining = True
        self.alive.stopping()
        logger.info(
            "Worker %s draining: %d open socket(s), up to %.0f s",
            self.name,
            len(self.pumps),
            self.drain_timeout,
        )
        with contextlib.suppress(state.ClusterUnavailable):
            await self.beat()  # fronts stop placing sessions here now
        deadline = time.monotonic() + self.drain_timeout
        while time.monotonic() < deadline:
            self._forget_silent_pumps()
            if not self.pumps:
                break
            await asyncio.sleep(0.2)
        reason = "This notebook's worker is shutting down; reconnecting starts a fresh kernel"
        for pump in list(self.pumps.values()):
            await pump.close(CLOSE_DRAINED, reason)
            with contextlib.suppress(state.ClusterUnavailable):
                await state.forget(pump.session_id)
        tasks = [p.task for p in self.pumps.values() if p.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=3.0)

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: retry, bounded
                metrics.layer_error("receive")
                logger.warning("Receiving failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(0.5)
                continue
            try:
                self._dispatch(message)
            except Exception:
                logger.exception("Could not handle a %s message", message.get("type"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == WS_PING:
            pump = self.pumps.get(message.get("stream", ""))
            if pump is not None:
                pump.heard = time.monotonic()
        elif kind == WS_IN:
            pump = self.pumps.get(message.get("stream", ""))
            if pump is not None:
                pump.feed(message)
            elif message.get("event") == "receive" and message.get("front"):
                self.spawn(self._unknown_stream(message))
        elif kind == WS_CONNECT:
            self.spawn(self._connect(message))
        elif kind == HTTP:
            self._http_piece(message)
        elif kind == CLOSE_SESSION:
            pump = next(
                (p for p in self.pumps.values() if p.session_id == message["session_id"]), None
            )
            if pump is not None:
                self.spawn(pump.close(int(message.get("code") or 1000), "Closed"))
            self.close_kernel(message["session_id"])
        else:
            logger.warning("Ignored a message of unknown type %r", kind)
