"""The websocket consumer: a message pump between the browser and a kernel.

It finds its notebook by resolving the socket's path through the Django
URLconf, so page and socket always agree on notebook, access and options.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.contrib.auth.models import AnonymousUser
from django.urls import Resolver404, resolve

from . import livesessions, marimo_adapter, sessions
from .access import Decision, decide
from .notebooks import Notebook, locate
from .registry import apps
from .userinfo import request_meta, user_info, visible_headers

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


async def resolve_notebook(scope: dict[str, Any]) -> tuple[Notebook, str, dict] | None:
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


class NotebookConsumer(AsyncConsumer):
    """Pumps frames between the browser socket and marimo's ``/ws``."""

    queue: asyncio.Queue[dict[str, Any]]
    task: asyncio.Task[None] | None = None
    browser_gone = False
    session_id: str | None = None
    notebook: Notebook | None = None

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        kernel_scope = await self._authorise()
        if kernel_scope is None:
            await self.send({"type": "websocket.close", "code": 4004})
            return
        app, scope = kernel_scope
        self.queue = asyncio.Queue()
        self.queue.put_nowait(message)
        self.task = asyncio.create_task(self._run(app, scope))
        _live.add(self)
        await livesessions.opened(self, self.session_id, self.notebook, self.scope.get("user"))

    async def end(self, code: int) -> None:
        """Close the browser socket and let marimo see a disconnect."""
        await livesessions.closed(self.session_id, self)
        if not self.browser_gone:
            with contextlib.suppress(Exception):
                await self.send({"type": "websocket.close", "code": code})
        self.browser_gone = True
        await self.queue.put({"type": "websocket.disconnect", "code": code})

    async def _authorise(self) -> tuple[marimo_adapter.MarimoApp, dict] | None:
        found = await resolve_notebook(self.scope)
        if found is None:
            return None
        notebook, subpath, path_params = found
        self.notebook = notebook
        if subpath not in marimo_adapter.WEBSOCKET_ROUTES:
            return None
        user = self.scope.get("user") or AnonymousUser()
        if await decide(user, notebook, self.scope) is not Decision.ALLOW:
            logger.info("Refused websocket %s for %s", self.scope["path"], user)
            return None
        prefix = self.scope["path"][: -len(subpath)].rstrip("/")
        raw_query = self.scope.get("query_string", b"")
        session_id = parse_qs(raw_query.decode("latin-1")).get("session_id", [""])[0]
        self.session_id = session_id
        known = sessions.directory.get(session_id, notebook)
        try:
            if (
                known is not None
                and known.app is not None
                and session_id in known.app.session_ids()
            ):
                app = known.app  # a reconnect: back to the app holding the kernel
            else:
                app = apps.get(notebook, base_url=prefix)
        except marimo_adapter.NotebookLoadError as exc:
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            return None
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
        query = sessions.page_query(raw_query)
        info = await user_info(user)
        if session_id:
            sessions.directory.record(
                sessions.SessionRecord(
                    session_id=session_id,
                    notebook=notebook,
                    page_query=query,
                    user_id=getattr(user, "pk", None),
                    app=app,
                    user_info=info,
                )
            )
        scope["headers"] = visible_headers(list(self.scope.get("headers", [])))
        scope.update(
            {marimo_adapter.PAGE_SCOPE_KEY: {"path": prefix + "/", "query_string": query}},
            root_path=prefix,
            state={},
            user=info,
            meta=await request_meta(self.scope),
            path_params=path_params,
        )
        return app, scope

    async def _run(self, app: marimo_adapter.MarimoApp, scope: dict) -> None:
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
        livesessions.touch(self.session_id)
        if self.task is not None and not self.task.done():
            await self.queue.put(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.browser_gone = True
        await livesessions.closed(self.session_id, self)
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
