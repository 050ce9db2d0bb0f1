"""A worker's socket kept alive from the front: refreshed, pinged, and ended with a reason.

Each heartbeat the watchdog refreshes the session's record and limit slot in
Redis and pings the worker; a worker that died, a Redis outage that may have
lost frames, or a worker that never answered ends the socket with a banner
saying why, so the page reconnects (and, where it can, resumes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.layers import get_channel_layer

from ... import closecodes
from ...conf import get_config
from ...marimo import protocol
from ...metrics import record as metrics
from ...transports.websocket import NotebookConsumer
from .. import records, replay_store, settings, state
from ..protocol import CLOSE_MESSAGE_LOST, CLOSE_NO_ANSWER, CLOSE_WORKER_LOST, WS_PING
from .placement import limit_seconds, same_process

logger = logging.getLogger(__name__)


class WatchedSocket(NotebookConsumer):
    """The part of :class:`.consumer.WorkerConsumer` that watches its worker and Redis."""

    stream = ""
    entry: records.WorkerRecord | None = None
    watchdog: asyncio.Task[None] | None = None
    keeper: replay_store.Keeper
    accepted = False
    ended = False
    #: Redis failed while this socket was open: frames may be gone unnoticed.
    outage = False
    #: When Redis answered again after an outage (monotonic; 0: not yet).
    outage_over = 0.0

    def _entry_ttl(self) -> float:
        return float(get_config()["SESSION_TTL"]) + settings.expiry()

    async def _to_worker(self, message: dict[str, Any]) -> bool:
        """Send to the session's worker; a failure ends the socket with a reason."""
        assert self.entry is not None
        try:
            await asyncio.wait_for(
                get_channel_layer().send(self.entry.channel, message), settings.timeout()
            )
        except Exception as exc:
            metrics.layer_error("send")
            logger.warning("Socket %s: send to worker failed: %s", self.scope["path"], exc)
            await self._lost(
                CLOSE_MESSAGE_LOST,
                f"A message to the kernel could not be sent ({type(exc).__name__})",
            )
            return False
        return True

    async def _watch(self) -> None:
        """Refresh the session and its limit slot; end the socket if the worker dies."""
        assert self.entry is not None
        started = time.monotonic()
        while not self.ended:
            await asyncio.sleep(settings.heartbeat())
            if not self.accepted and time.monotonic() - started > settings.timeout():
                await self._lost(CLOSE_NO_ANSWER, "The notebook's worker did not answer")
                return
            try:
                alive = await state.worker(self.entry.worker)
                if alive is not None and not same_process(alive, self.entry):
                    alive = None  # restarted under its name: the kernel died with the old one
                await state.refresh(self.entry, self._entry_ttl())
                await state.hold(self.limit_key, self.entry.session_id, None, limit_seconds())
                await self.keeper.keep()
            except state.ClusterUnavailable as exc:
                logger.warning("Socket %s: %s", self.scope["path"], exc)
                self.outage = True
                continue  # the kernel may well be fine; keep the socket until Redis is back
            if self.outage and alive is None:
                # A restart empties Redis: the worker may not have beaten again
                # yet. Closing now would send the reconnect to another worker
                # (a fresh kernel); wait up to one expiry for it.
                self.outage_over = self.outage_over or time.monotonic()
                if time.monotonic() - self.outage_over < settings.expiry():
                    continue
            if self.outage and alive is not None:
                # The pub/sub layer drops what is published while a subscriber
                # reconnects, and a restart empties the core layer's queues: a
                # frame lost last leaves no gap to notice. Reconnecting resumes.
                await self._lost(
                    CLOSE_MESSAGE_LOST,
                    "Redis was unreachable, so messages between this page and its kernel "
                    "may have been lost; reconnecting resumes the session",
                )
                return
            if alive is None:
                with contextlib.suppress(state.ClusterUnavailable):
                    await state.forget(self.entry.session_id)
                await self._lost(
                    CLOSE_WORKER_LOST,
                    f"The worker running this notebook ({self.entry.worker}) stopped; "
                    + replay_store.lost_worker_next(),
                )
                return
            await self._to_worker({"type": WS_PING, "stream": self.stream})

    async def _lost(self, code: int, reason: str) -> None:
        """Tell the page why, then close its socket so marimo reconnects."""
        if self.ended:
            return
        logger.warning("Closing websocket %s: %s", self.scope["path"], reason)
        with contextlib.suppress(Exception):
            if self.accepted:
                await self._send_op(protocol.OP_BANNER, title="Connection lost", description=reason)
            else:
                await self.send({"type": "websocket.accept"})
                await self._send_op(protocol.OP_STARTUP_ERROR, error=reason)
        await self._close_browser(code, reason)

    async def _close_browser(self, code: int, reason: str = "") -> None:
        self.ended = True
        with contextlib.suppress(Exception):
            await self.send(closecodes.close_message(code, reason))
