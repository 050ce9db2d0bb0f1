"""Carry a Django request to marimo's ASGI app and its answer back.

marimo's app is a Starlette app; the notebook view hands it an ASGI scope
built from the Django request (real path and ``root_path``, DESIGN.md
pitfall 7) and turns what it sends into a Django response, streaming when
marimo streams (downloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.request import split_domain_port

from ..userinfo import visible_headers

logger = logging.getLogger(__name__)

ASGIApp = Callable[[dict, Any, Any], Awaitable[None]]

#: Chunks buffered between marimo and a slow client before marimo waits.
STREAM_BUFFER = 8


def _headers(request: HttpRequest) -> list[tuple[bytes, bytes]]:
    scope = getattr(request, "scope", None)
    if scope is not None and "headers" in scope:
        return list(scope["headers"])
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
    ]


def http_scope(
    request: HttpRequest,
    *,
    root_path: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """An ASGI HTTP scope for marimo that shows the real URL of the request."""
    original = getattr(request, "scope", {}) or {}
    query = original.get("query_string")
    if query is None:  # not an ASGI request: Django's META holds it decoded
        query = request.META.get("QUERY_STRING", "")
    if isinstance(query, str):
        query = query.encode("utf-8")
    host, port = split_domain_port(request.get_host())
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": original.get("http_version", "1.1"),
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode("utf-8"),
        "root_path": root_path,
        "query_string": query,
        "headers": visible_headers(_headers(request)),
        "client": original.get("client") or (request.META.get("REMOTE_ADDR", ""), 0),
        "server": original.get("server") or (host, int(port or request.get_port())),
        "state": {},
    }
    scope.update(extra)
    return scope


def _apply_headers(response: HttpResponse | StreamingHttpResponse, raw: list) -> None:
    for name_b, value_b in raw:
        name = name_b.decode("latin-1")
        value = value_b.decode("latin-1")
        lower = name.lower()
        if lower == "set-cookie":
            response.cookies.load(SimpleCookie(value))
        elif lower == "content-length" and isinstance(response, StreamingHttpResponse):
            continue
        elif lower in response.headers and lower != "content-type":
            response.headers[name] = f"{response.headers[lower]}, {value}"
        else:
            response.headers[name] = value


async def call_http(app: ASGIApp, scope: dict[str, Any], body: bytes) -> HttpResponse:
    """Run ``app`` for one request and return its response as Django's."""
    start: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
    chunks: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue(STREAM_BUFFER)
    finished = asyncio.Event()
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # Later reads are disconnect listeners: answer when the client is done.
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            if not start.done():
                start.set_result(message)
        elif message["type"] == "http.response.body":
            await chunks.put((message.get("body", b""), message.get("more_body", False)))

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            if not start.done():
                start.set_exception(exc)
            else:
                logger.exception("marimo failed while answering %s", scope["path"])
        finally:
            if not start.done():
                start.set_exception(RuntimeError("marimo sent no response"))
            await chunks.put(None)

    task = asyncio.create_task(run())
    try:
        message = await start
        first = await chunks.get()
    except BaseException:
        finished.set()
        task.cancel()
        raise
    status = int(message["status"])
    if first is None or not first[1]:
        finished.set()
        await task
        response = HttpResponse(first[0] if first else b"", status=status)
        _apply_headers(response, message.get("headers", []))
        return response

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield first[0]
            while (item := await chunks.get()) is not None:
                yield item[0]
                if not item[1]:
                    break
        finally:
            finished.set()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    streaming = StreamingHttpResponse(stream(), status=status)
    _apply_headers(streaming, message.get("headers", []))
    return streaming
