"""One browser socket's kernel websocket on a worker: numbered frames to its front."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, Protocol

from ...marimo.app import MarimoApp
from ...metrics import record as metrics
from ..protocol import (
    BATCH,
    CHUNK,
    CLOSE_MESSAGE_LOST,
    WS_OUT,
    Incoming,
    Outgoing,
    SequenceGap,
)

logger = logging.getLogger(__name__)

#: Frames a socket may queue for its front before marimo's sends wait.
OUTBOX_FRAMES = 64


def _size(frame: dict[str, Any]) -> int:
    return len(frame.get("text") or "")


class PumpOwner(Protocol):
    """What a pump needs of its worker (:class:`~.process.Worker`)."""

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    async def send(self, channel: str, message: dict[str, Any]) -> bool: ...

    def close_kernel(self, session_id: str) -> None: ...


class Pump:
    """One browser socket's kernel websocket, run on this worker."""

    def __init__(self, worker: PumpOwner, stream: str, session_id: str, front: str) -> None:
        self.worker = worker
        self.stream = stream
        self.session_id = session_id
        self.front = front
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming = Incoming()
        self.outgoing = Outgoing()
        self.task: asyncio.Task[None] | None = None
        #: Numbered frames not yet sent to the front, and the task sending them.
        self.outbox: list[dict[str, Any]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.closed = False
        self.started = time.monotonic()
        #: When the front last spoke for this socket (a frame or a ping).
        self.heard = self.started

    async def run(self, app: MarimoApp, scope: dict[str, Any]) -> None:
        self.queue.put_nowait({"type": "websocket.connect"})
        try:
            await app(scope, self.queue.get, self.to_front)
        except Exception:
            logger.exception("Kernel socket %s failed", scope.get("path"))
            await self.close(1011, "The kernel socket failed on the worker")

    def feed(self, message: dict[str, Any]) -> None:
        """A frame from the front; a missing one ends the socket with a reason."""
        self.heard = time.monotonic()
        try:
            whole = self.incoming.accept(message, "text")
        except SequenceGap as exc:
            metrics.layer_gap("worker")
            logger.warning("Socket %s lost a message from its front: %s", self.stream, exc)
            self.worker.spawn(self.fault(f"A message to the kernel was lost ({exc})"))
            return
        if whole is None:
            return
        if whole.get("event") == "receive":
            self.queue.put_nowait({"type": "websocket.receive", "text": whole.get("text") or ""})
        else:
            self.disconnect(int(whole.get("code") or 1000))

    def disconnect(self, code: int = 1000) -> None:
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code})

    async def to_front(self, message: dict[str, Any]) -> None:
        """marimo's ``send``: ASGI websocket messages become numbered WS_OUT frames."""
        if self.closed:
            return
        base = {"type": WS_OUT, "stream": self.stream}
        kind = message["type"]
        if kind == "websocket.accept":
            frames = [self.outgoing.message({**base, "event": "accept"})]
        elif kind == "websocket.send":
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            metrics.frame_out(self.session_id, text)
            frames = self.outgoing.messages({**base, "event": "send"}, "text", text)
        elif kind == "websocket.close":
            self.closed = True
            code = int(message.get("code") or 1000)
            frames = [
                self.outgoing.message(
                    {**base, "event": "close", "code": code, "reason": message.get("reason") or ""}
                )
            ]
        else:
            return
        self.outbox.extend(frames)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        if len(self.outbox) > OUTBOX_FRAMES:
            await self.sent()  # the front is slow: marimo waits (bounded memory)

    async def sent(self) -> None:
        """Wait until every frame handed to :meth:`to_front` went out (or failed)."""
        if self.flusher is not None:
            await asyncio.shield(self.flusher)

    async def _flush(self) -> None:
        """Send the outbox, many frames per message when they queue up.

        One layer message per frame costs a Redis round trip on a loop that
        shares its GIL with every kernel of this worker; under load frames
        wait here and go out together, numbered one by one as before.
        """
        while self.outbox:
            batch: list[dict[str, Any]] = []
            size = 0
            while self.outbox and (not batch or size + _size(self.outbox[0]) <= CHUNK):
                frame = self.outbox.pop(0)
                batch.append(frame)
                size += _size(frame)
            message = batch[0]
            if len(batch) > 1:
                message = {"type": WS_OUT, "stream": self.stream, "event": BATCH, "frames": batch}
            if not await self.worker.send(self.front, message):
                self.outbox.clear()
                await self._send_failed()
                return

    async def _send_failed(self) -> None:
        """A frame did not go out (layer full, Redis down): end the socket.

        The front learns it from the gap in the numbers of the close frame
        sent after it; tried for about 30 s, then given up.
        """
        self.closed = True
        self.disconnect(1011)
        close = self.outgoing.message(
            {
                "type": WS_OUT,
                "stream": self.stream,
                "event": "close",
                "code": CLOSE_MESSAGE_LOST,
                "reason": "A message from the kernel could not be sent",
            }
        )
        for delay in (0.2, 1.0, 2.0, 4.0, 8.0, 15.0):  # Redis may be restarting
            await asyncio.sleep(delay)
            if await self.worker.send(self.front, close):
                return

    async def close(self, code: int, reason: str) -> None:
        """End the browser socket with a reason and let marimo see it go."""
        if not self.closed:
            await self.to_front({"type": "websocket.close", "code": code, "reason": reason})
            await self.sent()
        self.closed = True
        self.disconnect(code)

    async def fault(self, reason: str) -> None:
        """A frame was lost: the page cannot be trusted, so the session restarts."""
        await self.close(CLOSE_MESSAGE_LOST, f"{reason}; the session restarts")
        self.worker.close_kernel(self.session_id)
