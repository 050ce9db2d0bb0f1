"""The websocket consumer: a message pump between the browser and a kernel.

It finds its notebook by resolving the socket's path through the Django
URLconf, so page and socket always agree on notebook, access and options.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.contrib.auth.models import AnonymousUser
from django.urls import Resolver404, resolve

from ..admission import limits
from ..admission.access import Decision, decide
from ..marimo import files, protocol
from ..marimo.app import MarimoApp
from ..params import gate
from ..runtime import session_directory, session_rows, shutdown
from ..runtime.notebook_apps import apps
from ..runtime.owners import owner_key
from ..runtime.session_directory import SessionRecord
from ..targets.notebook import ServedNotebook, locate
from ..targets.registered import registered_pk
from ..userinfo import request_meta, user_info, visible_headers

logger = logging.getLogger(__name__)

#: Seconds to let marimo finish its side after the browser went away.
DRAIN_TIMEOUT = 5.0

#: Consumers with a running kernel socket, so shutdown can end them cleanly.
_live: weakref.WeakSet[NotebookConsumer] = weakref.WeakSet()


async def close_all(timeout: float) -> None:
    """End every kernel socket: tell marimo the browser left, close the browser.

    Left pending, these tasks would be torn down by the garbage collector
    during interpreter exit, which crashed daphne in our shutdown test.
    """
    consumers = list(_live)
    for consumer in consumers:
        await consumer.end(code=1001)
    tasks = [c.task for c in consumers if c.task is not None and not c.task.done()]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
    for task in tasks:
        task.cancel()


shutdown.on_shutdown(close_all, order=shutdown.SOCKETS)


async def resolve_notebook(scope: dict[str, Any]) -> tuple[ServedNotebook, str, dict] | None:
    """The notebook, sub-route and path params a socket path maps to."""
    path = scope["path"]
    root = scope.get("root_path", "")
    path_info = path[len(root) :] if root and path.startswith(root) else path
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    target = getattr(match.func, "target", None)
    if target is None:
        return None
    located = await locate(target, match.kwargs)
    if located is None or located.notebook is None:
        return None
    return located.notebook, located.subpath or "", located.path_params


@dataclass
class Admitted:
    """A socket the access, parameter and origin checks let through."""

    notebook: ServedNotebook
    prefix: str
    path_params: dict[str, Any]
    session_id: str
    owner: str | None
    user: Any
    #: The page's query string, and what the kernel gets as user and meta.
    query: bytes
    info: dict[str, Any]
    meta: dict[str, Any]
    #: The ASGI scope marimo's app gets for this socket.
    kernel_scope: dict[str, Any]


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
        try:
            kernel_scope = await self._authorise()
        except gate.InvalidParams as exc:
            await self._refuse_params(exc)
            return
        if isinstance(kernel_scope, limits.OverLimit):
            await self._refuse_over_limit(kernel_scope)
            return
        if kernel_scope is None:
            await self.send({"type": "websocket.close", "code": 4004})
            return
        app, scope = kernel_scope
        self.queue = asyncio.Queue()
        self.queue.put_nowait(message)
        self.task = asyncio.create_task(self._run(app, scope))
        _live.add(self)
        self.live_id = self.session_id
        if self.live_id and self.notebook is not None:
            await session_rows.opened(
                self,
                self.live_id,
                self.notebook,
                self.scope.get("user"),
                registered_pk(self.notebook),
            )

    async def _refuse_params(self, exc: gate.InvalidParams) -> None:
        logger.info("Refused websocket %s: invalid parameters %s", self.scope["path"], exc)
        # Accepted first, so the client reads the code and the reason.
        await self.send({"type": "websocket.accept"})
        await self.send(
            {
                "type": "websocket.close",
                "code": gate.CLOSE_INVALID,
                "reason": gate.close_reason(exc),
            }
        )

    async def end(self, code: int) -> None:
        """Close the browser socket and let marimo see a disconnect."""
        await session_rows.closed(self.live_id, self)
        if not self.browser_gone:
            with contextlib.suppress(Exception):
                await self.send({"type": "websocket.close", "code": code})
        self.browser_gone = True
        self._socket_closed()
        await self.queue.put({"type": "websocket.disconnect", "code": code})

    def _socket_closed(self) -> None:
        if self.session_id:
            session_directory.directory.socket_closed(self.session_id)
            self.session_id = None

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
                    await self.send({"type": "websocket.close", "code": 1000})
                    return

    async def _admit(self) -> Admitted | None:
        """Notebook, access and parameters of this socket, and its kernel scope.

        None when the socket must be refused (unknown path, no access);
        raises InvalidParams when its parameters fail the notebook's form.
        """
        found = await resolve_notebook(self.scope)
        if found is None:
            return None
        notebook, subpath, path_params = found
        self.notebook = notebook
        if subpath not in protocol.WEBSOCKET_ROUTES:
            return None
        user = self.scope.get("user") or AnonymousUser()
        if await decide(user, notebook, self.scope) is not Decision.ALLOW:
            logger.info("Refused websocket %s for %s", self.scope["path"], user)
            return None
        # Raises InvalidParams; else the kernel gets the cleaned query only.
        checked = gate.check_socket(self.scope, notebook)
        prefix = self.scope["path"][: -len(subpath)].rstrip("/")
        raw_query = self.scope.get("query_string", b"")
        scope = {
            key: self.scope[key]
            for key in (
                "type",
                "asgi",
                "http_version",
                "scheme",
                "path",
                "raw_path",
                "query_string",
                "headers",
                "client",
                "server",
                "subprotocols",
            )
            if key in self.scope
        }
        query = protocol.page_query(raw_query)
        if checked is not None:
            scope["query_string"], query = checked
        info = await user_info(user)
        meta = await request_meta(self.scope)
        scope["headers"] = visible_headers(list(self.scope.get("headers", [])))
        scope.update(
            {protocol.PAGE_SCOPE_KEY: {"path": prefix + "/", "query_string": query}},
            root_path=prefix,
            state={},
            user=info,
            meta=meta,
            path_params=path_params,
        )
        return Admitted(
            notebook=notebook,
            prefix=prefix,
            path_params=path_params,
            session_id=protocol.socket_session_id(raw_query),
            owner=owner_key(self.scope),
            user=user,
            query=query,
            info=info,
            meta=meta,
            kernel_scope=scope,
        )

    async def _authorise(
        self,
    ) -> tuple[MarimoApp, dict] | limits.OverLimit | None:
        admitted = await self._admit()
        if admitted is None:
            return None
        notebook, session_id, owner, user = (
            admitted.notebook,
            admitted.session_id,
            admitted.owner,
            admitted.user,
        )
        known = session_directory.directory.lookup(session_id)
        if known is not None and (
            known.notebook is not notebook
            or not session_directory.directory.owned_by(session_id, owner)
        ):
            logger.warning(
                "Refused websocket %s for %s: session %s belongs to someone else",
                self.scope["path"],
                user,
                session_id,
            )
            return None
        resuming = known is not None and known.app is not None and known.app.has_session(session_id)
        try:
            if resuming:
                assert known is not None and known.app is not None
                app = known.app  # a reconnect: back to the app holding the kernel
            else:
                app = apps.get(notebook, base_url=admitted.prefix)
        except files.NotebookLoadError as exc:
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            return None
        if session_id and resuming:
            self.session_id = session_id
            session_directory.directory.socket_opened(session_id)
        elif session_id:
            # No await between admitting and recording: two sockets cannot race.
            key = self.limit_key = limits.limit_key(user, owner)
            refusal = limits.admit(session_directory.directory, key)
            if refusal is not None:
                logger.warning(
                    "Refused websocket %s for %s: %s", self.scope["path"], user, refusal.message
                )
                return refusal
            self.session_id = session_id
            session_directory.directory.record(
                SessionRecord(
                    session_id=session_id,
                    notebook=notebook,
                    page_query=admitted.query,
                    user_id=getattr(user, "pk", None),
                    app=app,
                    user_info=admitted.info,
                    owner=owner,
                    limit_key=key,
                    prefix=admitted.prefix,
                    meta=admitted.meta,
                    path_params=admitted.path_params,
                    sockets=1,  # counted as an open tab from the start
                )
            )
        return app, admitted.kernel_scope

    async def _run(self, app: MarimoApp, scope: dict) -> None:
        try:
            await app(scope, self.queue.get, self._to_browser)
        except Exception:
            logger.exception("Kernel socket %s failed", scope["path"])
            with contextlib.suppress(Exception):
                await self.send({"type": "websocket.close", "code": 1011})

    async def _to_browser(self, message: dict[str, Any]) -> None:
        if self.browser_gone:
            return  # marimo may still be flushing; the browser left
        if message["type"] == "websocket.close":
            # marimo passes IntEnum codes; autobahn accepts only plain ints.
            message = {**message, "code": int(message.get("code") or 1000)}
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
            await self.end(code=1003)
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
        await self.send({"type": "websocket.close", "code": 4004})

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        raise StopConsumer()
