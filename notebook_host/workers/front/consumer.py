"""A notebook socket whose kernel runs in a worker: numbered frames both ways.

The socket is admitted here exactly as with local kernels, placed
(:mod:`.placement`), recorded in the Redis session directory, and pumped as
numbered frames between this consumer's channel and the worker. A dead
worker is noticed within one heartbeat after its heartbeat key expired; a
lost frame at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from ... import closecodes
from ...admission import limits
from ...admission.arrival import Arrival
from ...admission.pipeline import admit_front, socket_arrival
from ...admission.refusals import Reason, Refused
from ...marimo import protocol
from ...metrics import record as metrics
from ...runtime import session_rows
from ...targets.registered import registered_pk
from ...transports import embedding
from ...transports.websocket import live
from .. import replay_store, state
from ..protocol import (
    BATCH,
    CLOSE_MESSAGE_LOST,
    CLOSE_SESSION,
    WS_CONNECT,
    WS_IN,
    Incoming,
    Outgoing,
    SequenceGap,
    wire_scope,
)
from .placement import (
    SocketAdmission,
    could_place,
    layer_unreachable,
    place,
)
from .watchdog import WatchedSocket

logger = logging.getLogger(__name__)


class WorkerConsumer(WatchedSocket):
    """A notebook socket whose kernel runs in a worker (KERNELS = "workers")."""

    channel_name = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if self.channel_name:
                raise
            # The layer gave no channel (the pub/sub layer subscribes at once): Redis is down.
            await layer_unreachable(self.scope, receive, send, state.ClusterUnavailable(exc))

    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Channels' consumer dies when its layer receive raises (Redis down): retry instead.

        Frames lost meanwhile show up as a gap in the numbers, which ends the
        socket with a reason; a blip alone must not kill every socket.
        """

        async def resilient() -> dict[str, Any]:
            while True:
                try:
                    return await receive()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    metrics.layer_error("receive")
                    logger.warning("Socket %s: layer receive failed: %s", self.scope["path"], exc)
                    self.outage = True
                    await asyncio.sleep(0.5)

        self._receive_from_layer = resilient

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # A framed page's socket URL carries its embed marker: not the kernel's.
        embedding.take_scope_marker(self.scope)
        arrival = await socket_arrival(self.scope)
        result = await admit_front(arrival) if isinstance(arrival, Arrival) else arrival
        if isinstance(result, Refused):
            await self._refuse(result)
            return
        assert isinstance(arrival, Arrival) and result.scope is not None
        admitted = SocketAdmission.of(arrival, result.scope)
        self.notebook = admitted.notebook
        if not admitted.session_id:
            await self._refuse(Refused(Reason.NOT_FOUND))
            return
        self.limit_key = limits.limit_key(admitted.user, admitted.owner)
        try:
            placed = await place(admitted, self.limit_key, self.scope)
        except state.ClusterUnavailable as exc:
            metrics.session_refused("redis_unavailable")
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            await self._refuse_and_wait("Session store unreachable", exc.public, admitted)
            return
        if placed is None:
            await self.send(closecodes.close_message(closecodes.REFUSED))
            return
        if isinstance(placed, str):
            await self._refuse_and_wait("Cannot open a session", placed, admitted)
            return
        self.stream = uuid.uuid4().hex
        self.incoming, self.outgoing = Incoming(), Outgoing()
        placed.front, placed.stream = self.channel_name, self.stream
        self.entry = placed
        try:
            await state.record(placed, self._entry_ttl())
        except state.ClusterUnavailable as exc:
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            await self._refuse_and_wait("Session store unreachable", exc.public, admitted)
            return
        scope = wire_scope(admitted.kernel_scope, protocol.PAGE_SCOPE_KEY)
        with contextlib.suppress(state.ClusterUnavailable):  # no values: a fresh kernel
            restored = await replay_store.plan(placed.session_id, admitted.owner, placed.code_hash)
            if restored is not None:  # applied only if the worker starts a new kernel
                scope[protocol.REPLAY_SCOPE_KEY] = restored
        connect = {
            "type": WS_CONNECT,
            "stream": self.stream,
            "front": self.channel_name,
            "session_id": placed.session_id,
            "route": placed.route,
            "scope": scope,
        }
        self.keeper = replay_store.Keeper(placed.session_id)
        if not await self._to_worker(connect):
            return
        live.add(self)
        self.session_id = self.live_id = placed.session_id
        self.watchdog = asyncio.create_task(self._watch())
        await session_rows.opened(
            self,
            placed.session_id,
            admitted.notebook,
            admitted.user,
            registered_pk(admitted.notebook),
            worker=placed.worker,
        )

    async def _refuse_and_wait(self, title: str, text: str, admitted: SocketAdmission) -> None:
        """marimo's startup-error dialog with ``text``; reload once a retry would work."""
        await self.send({"type": "websocket.accept"})
        await self._send_op(protocol.OP_STARTUP_ERROR, error=text)
        await self._send_op(protocol.OP_BANNER, title=title, description=text, variant="danger")
        self.waiting = asyncio.create_task(
            self._wait_until(lambda: could_place(admitted, self.limit_key))
        )

    async def _wait_until(self, ready: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await asyncio.sleep(limits.WAIT_POLL_SECONDS)
            with contextlib.suppress(state.ClusterUnavailable):
                if await ready():
                    logger.info("Can serve %s now: reloading the page", self.scope["path"])
                    await self._send_op(protocol.OP_RELOAD)
                    await self.send(closecodes.close_message(closecodes.NORMAL))
                    return

    async def notebook_host_ws_out(self, message: dict[str, Any]) -> None:
        """A frame from the worker's marimo app, checked for gaps and joined."""
        if message.get("stream") != self.stream or self.ended:
            return  # a previous socket's leftovers
        if message.get("event") == BATCH:  # frames that queued up on the worker
            for frame in message.get("frames") or []:
                await self.notebook_host_ws_out(frame)
            return
        if message.get("seq") == -1:  # the worker does not know this socket any more
            await self._lost(CLOSE_MESSAGE_LOST, str(message.get("reason")))
            return
        try:
            whole = self.incoming.accept(message, "text")
        except SequenceGap as exc:
            metrics.layer_gap("front")
            reason = f"A message from the kernel was lost ({exc}); the session restarts"
            if self.entry is not None:
                await self._to_worker({"type": CLOSE_SESSION, "session_id": self.entry.session_id})
            await self._lost(CLOSE_MESSAGE_LOST, reason)
            return
        if whole is None:
            return
        event = whole.get("event")
        if event == "accept":
            self.accepted = True
            await self.send({"type": "websocket.accept"})
        elif event == "send":
            await self.send({"type": "websocket.send", "text": whole.get("text") or ""})
        elif event == "close":
            if not self.accepted:
                await self._lost(int(whole.get("code") or 1011), str(whole.get("reason") or ""))
            else:
                await self._close_browser(int(whole.get("code") or 1000), whole.get("reason", ""))

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        session_rows.touch(self.live_id)
        if not self.stream or self.ended:
            return
        text = message.get("text")
        if text is None:
            logger.info("Closing websocket %s: binary frame", self.scope["path"])
            await self.end(code=1003)
            return
        base = {"type": WS_IN, "stream": self.stream, "front": self.channel_name}
        for frame in self.outgoing.messages({**base, "event": "receive"}, "text", text):
            if not await self._to_worker(frame):
                return

    async def end(self, code: int) -> None:
        """Close the browser socket; staff closes also end the kernel."""
        await session_rows.closed(self.live_id, self)
        await self._close_browser(code)
        await self._leave(close_kernel=code == session_rows.CLOSED_BY_STAFF)

    async def _leave(self, *, close_kernel: bool) -> None:
        """Tell the worker the browser left (marimo keeps the kernel for its TTL)."""
        if self.entry is None or not self.stream:
            return
        entry, stream, self.stream = self.entry, self.stream, ""
        frame = self.outgoing.message(
            {
                "type": WS_IN,
                "stream": stream,
                "front": self.channel_name,
                "event": "disconnect",
                "code": closecodes.GOING_AWAY,
            }
        )
        layer = get_channel_layer()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(layer.send(entry.channel, frame), 2.0)
            if close_kernel:
                close = {"type": CLOSE_SESSION, "session_id": entry.session_id}
                await asyncio.wait_for(layer.send(entry.channel, close), 2.0)
        with contextlib.suppress(state.ClusterUnavailable):
            await state.release(self.limit_key, entry.session_id)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await session_rows.closed(self.live_id, self)
        if self.waiting is not None:
            self.waiting.cancel()
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.ended = True
        await self._leave(close_kernel=False)
        raise StopConsumer()
