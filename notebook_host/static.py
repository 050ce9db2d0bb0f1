"""Serving collected static files (marimo's frontend among them) in front of Django."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from .cache_headers import add_headers

#: The ASGI extension a server advertises when it can send a file by path.
PATHSEND = "http.response.pathsend"

#: Files up to this size are read in the event loop, in one piece: a page-cached
#: read of 1 MiB takes well under a millisecond, less than a hop to a thread.
INLINE_READ_BYTES = 1 << 20


def serve_collected_static(application: Any) -> Any:
    """Put ServeStatic's ASGI app in front of ``application`` for STATIC_ROOT.

    Through ServeStatic's Django middleware every asset still pays Django's
    request handling (signals and sync middleware run in a thread, one at a
    time); ~300 files on a cold marimo page make that the bulk of the load.
    In front of Django, a collected file is answered at once (gzip/brotli
    variants, the immutable headers of :mod:`notebook_host.cache_headers`),
    sent by path (:class:`PathSend`). Returns ``application`` unchanged when
    there is nothing local to serve: DEBUG (use the middleware and finders
    then), no STATIC_ROOT, or a STATIC_URL on another host (a CDN).
    """
    root = getattr(settings, "STATIC_ROOT", None)
    prefix = urlsplit(settings.STATIC_URL or "").path if settings.STATIC_URL else ""
    if settings.DEBUG or not root or not prefix or urlsplit(settings.STATIC_URL).netloc:
        return application
    from servestatic import ServeStaticASGI  # optional dependency: notebook-host[static]

    return PathSend(
        ServeStaticASGI(
            application,
            root=str(root),
            prefix="/" + prefix.strip("/") + "/",
            add_headers_function=add_headers,
        )
    )


class PathSend:
    """The ASGI ``http.response.pathsend`` extension, for servers without it.

    daphne does not offer it, so ServeStatic streams each file through an
    ``AsyncFile`` that starts a thread of its own per file and hops to it to
    open, read and close: half of a static request's time under daphne,
    paid by a page of ~300 files (``python -m bench.static_requests``: 3.85
    ms per request without, 1.81 ms with; uvicorn 2.0 ms). Offered here,
    ServeStatic (and Starlette's FileResponse) hand over the path and the
    file goes out as one body, read in the loop when small, in a thread
    otherwise. A server that has the extension keeps its own.
    """

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        extensions = scope.get("extensions") or {}
        if scope["type"] != "http" or PATHSEND in extensions:
            await self.application(scope, receive, send)
            return

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == PATHSEND:
                await send_file(send, message["path"])
            else:
                await send(message)

        scope = {**scope, "extensions": {**extensions, PATHSEND: {}}}
        await self.application(scope, receive, sending)


async def send_file(send: Any, path: str) -> None:
    """The whole file at ``path`` as the response body (headers are sent already)."""
    size = os.stat(path).st_size
    if size <= INLINE_READ_BYTES:
        with open(path, "rb") as file:
            body = file.read()
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    with open(path, "rb") as file:
        while chunk := await asyncio.to_thread(file.read, INLINE_READ_BYTES):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
