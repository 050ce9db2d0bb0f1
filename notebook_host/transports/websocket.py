"""The websocket consumer: a message pump between the browser and a kernel.

The admission pipeline finds its notebook by resolving the socket's path
through the Django URLconf, so page and socket always agree on notebook,
access and options; the consumer turns a refusal into a close code (or,
over a limit, a message and a wait for a free slot) in one place
(:meth:`NotebookConsumer._refuse`), and opens what was admitted
(:func:`notebook_host.backends.opening.open_socket`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer

from .. import closecodes
from ..admission import limits
from ..admission.arrival import Arrival
from ..admission.pipeline import admit, socket_arrival
from ..admission.refusals import Reason, Refused
from ..backends import opening
from ..marimo import protocol
from ..marimo.app import MarimoApp
from ..metrics import record as metrics
from ..runtime import replay, session_directory, session_rows, shutdown
from ..targets.notebook import ServedNotebook
from ..targets.registered import registered_pk
from . import embedding

logger = logging.getLogger(__name__)

#: Seconds to let marimo finish its side after the browser went away.
DRAIN_TIMEOUT = 5.0

#: Close code of a socket the pipeline refused (not found, no access, not the owner...).
CLOSE_REFUSED = closecodes.REFUSED

#: Consumers with a running kernel socket, so shutdown can end them cleanly.
live: weakref.WeakSet[NotebookConsumer] = weakref.WeakSet()


async def close_all(timeout: float) -> None:
    """End every kernel socket: tell marimo the browser left, close the browser.

    Left pending, these tasks would be torn down by the garbage collector
    during interpreter exit, which crashed daphne in our shutdown test.
    """
    consumers = list(live)
    for consumer in consumers:
        await consumer.end(code=closecodes.GOING_AWAY)
    tasks = [c.task for c in consumers if c.task is not None and not c.task.done()]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
    for task in tasks:
        task.cancel()


shutdown.on_shutdown(close_all, order=shutdown.SOCKETS)


class NotebookConsumer(AsyncConsumer):
    """Pumps frames between the browser socket and marimo's ``/ws``."""

    queue: asyncio.Queue[dict[str, Any]]
    task: asyncio.Task[None] | None = None
    browser_gone = False
    #: The kernel session this socket counts for in the session directory.
    session_id: str | None = None
    #: The same, for the LiveSession rows (notebook_host.runtime.session_rows).
    live_id: str | None = None
    notebook: ServedNotebook | None = None
    #: Whom limits count this socket against, and its wait for a free slot.
    limit_key: str = ""
    waiting: asyncio.Task[None] | None = None

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # A framed page's socket URL carries its embed marker: not the kernel's.
        embedding.take_scope_marker(self.scope)
        arrival = await socket_arrival(self.scope)
        admitted = await admit(arrival) if isinstance(arrival, Arrival) else arrival
        if isinstance(admitted, Refused):
            await self._refuse(admitted)
            return
        assert isinstance(arrival, Arrival)
        try:
            opening.open_socket(arrival, admitted)  # no await since the limit check
        except Refused as refused:
            await self._refuse(refused)
            return
        assert admitted.app is not None and admitted.scope is not None
        self.notebook = admitted.notebook
        self.session_id = admitted.counted
        if self.session_id:  # used if marimo starts a kernel
            restored = replay.local_plan(self.session_id, arrival.owner, admitted.app)
            if restored is not None:
                admitted.scope[protocol.REPLAY_SCOPE_KEY] = restored
        self.queue = asyncio.Queue()
        self.queue.put_nowait(message)
        self.task = asyncio.create_task(self._run(admitted.app, admitted.scope))
        metrics.socket_opened(self.session_id, self.scope["path"])
        live.add(self)
        self.live_id = self.session_id
        if self.live_id:
            await session_rows.opened(
                self,
                self.live_id,
                self.notebook,
                self.scope.get("user"),
                registered_pk(self.notebook),
            )

    async def _refuse(self, refused: Refused) -> None:
        """The answer to a refusal: close with its code; over a limit, wait for a slot."""
        metrics.session_refused(refused.reason.name.lower())
        if refused.reason is Reason.INVALID_PARAMS:
            # Accepted first, so the client reads the code and the reason.
            await self.send({"type": "websocket.accept"})
            await self.send(closecodes.close_message(refused.close_code, refused.detail))
        elif refused.reason is Reason.OVER_LIMIT:
            assert refused.over is not None
            self.limit_key = refused.limit_key or ""
            await self._refuse_over_limit(refused.over)
        else:
            await self.send(closecodes.close_message(refused.close_code))

    async def end(self, code: int) -> None:
        """Close the browser socket and let marimo see a disconnect."""
        await session_rows.closed(self.live_id, self)
        if not self.browser_gone:
            with contextlib.suppress(Exception):
                await self.send(closecodes.close_message(code))
        self.browser_gone = True
        self._socket_closed()
        await self.queue.put({"type": "websocket.disconnect", "code": code})

    def _socket_closed(self) -> None:
        if self.session_id:
            replay.store.keep(self.session_id)
            session_directory.directory.socket_closed(self.session_id)
            self.session_id = None
            metrics.local_sessions()

    async def _refuse_over_limit(self, refusal: limits.OverLimit) -> None:
        """Say why on the page, then hold the socket until a slot frees.

        Closing would make marimo's frontend reconnect at once, again and
        again, behind a bare "Connecting..." (and daphne drops close
        reasons). Instead the socket stays open without a kernel: the page
        shows marimo's startup-error message with ours, and once a slot is
        free the page is told to reload, which opens a real session.
        """
        await self.send({"type": "websocket.accept"})
        await self._send_op(protocol.OP_STARTUP_ERROR, error=refusal.message)
        await self._send_op(
            protocol.OP_BANNER,
            title="Too many open sessions",
            description=refusal.message,
            variant="danger",
        )
        self.waiting = asyncio.create_task(self._wait_for_slot(refusal))

    async def _send_op(self, op: str, **data: Any) -> None:
        await self.send({"type": "websocket.send", "text": protocol.frame(op, **data)})

    async def _wait_for_slot(self, refusal: limits.OverLimit) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(limits.WAIT_POLL_SECONDS)
                if limits.check(session_directory.directory, self.limit_key) is None:
                    logger.info("A session slot is free: reloading %s", self.scope["path"])
                    await self._send_op(protocol.OP_RELOAD)
                    await self.send(closecodes.close_message(closecodes.NORMAL))
                    return

    async def _run(self, app: MarimoApp, scope: dict[str, Any]) -> None:
        try:
            await app(scope, self.queue.get, self._to_browser)
        except Exception:
            logger.exception("Kernel socket %s failed", scope["path"])
            with contextlib.suppress(Exception):
                await self.send(closecodes.close_message(closecodes.INTERNAL_ERROR))

    async def _to_browser(self, message: dict[str, Any]) -> None:
        if self.browser_gone:
            return  # marimo may still be flushing; the browser left
        if message["type"] == "websocket.close":
            # marimo passes IntEnum codes, some of which autobahn refuses.
            message = closecodes.close_message(message.get("code"), message.get("reason") or "")
        metrics.frame_out(self.live_id, message.get("text"))
        try:
            await self.send(message)
        except Exception as exc:  # the server closed the socket under us
            logger.debug("Dropped a frame for a closed socket: %s", exc)
            self.browser_gone = True

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        session_rows.touch(self.live_id)
        if self.task is None:
            return  # refused at connect: nothing to pump
        if message.get("text") is None:
            # marimo's kernel socket is text-only; a binary frame would crash
            # its reader. Close this socket (1003: unacceptable data).
            logger.info("Closing websocket %s: binary frame", self.scope["path"])
            await self.end(code=closecodes.UNSUPPORTED_DATA)
            return
        if self.task is not None and not self.task.done():
            await self.queue.put(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.browser_gone = True
        self._socket_closed()
        await session_rows.closed(self.live_id, self)
        if self.waiting is not None:
            self.waiting.cancel()
        if self.task is not None and not self.task.done():
            await self.queue.put(message)
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.task), DRAIN_TIMEOUT)
            if not self.task.done():
                self.task.cancel()
        raise StopConsumer()


class RefuseConsumer(AsyncConsumer):
    """Refuses a socket whose path no route knows."""

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        logger.info("Refused websocket to unknown path %s", self.scope["path"])
        await self.send(closecodes.close_message(CLOSE_REFUSED))

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer()
