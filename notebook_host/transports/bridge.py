"""Carry a Django request to marimo's ASGI app and its answer back.

marimo's app is a Starlette app; the notebook view hands it the kernel scope
the admission pipeline built from the Django request
(:mod:`notebook_host.admission.scope`) and turns what it sends into a Django
response, streaming when marimo streams (downloads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any, cast

from django.http import HttpResponse, StreamingHttpResponse

logger = logging.getLogger(__name__)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

#: Chunks buffered between marimo and a slow client before marimo waits.
STREAM_BUFFER = 8


def apply_headers(
    response: HttpResponse | StreamingHttpResponse, raw: list[tuple[bytes, bytes]]
) -> None:
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


def edit_html(response: HttpResponse | StreamingHttpResponse, edit: Callable[[str], str]) -> None:
    """Rewrite a whole HTML answer of marimo (its page) in place; others stay."""
    if response.status_code != 200 or response.streaming:
        return
    if not response.get("Content-Type", "").startswith("text/html"):
        return
    assert isinstance(response, HttpResponse)
    charset = response.charset or "utf-8"
    response.content = edit(response.content.decode(charset)).encode(charset)
    response["Content-Length"] = str(len(response.content))


def replaying(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives ``body`` first, then listens to ``receive``."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return cast(dict[str, Any], await receive())

    return again


async def call_http(app: ASGIApp, scope: dict[str, Any], body: bytes) -> HttpResponse:
    """Run ``app`` for one request and return its response as Django's."""
    start: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    chunks: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue(STREAM_BUFFER)
    finished = asyncio.Event()

    async def client_done() -> dict[str, Any]:
        # Reads after the body are disconnect listeners: answer when the client is done.
        await finished.wait()
        return {"type": "http.disconnect"}

    receive = replaying(body, client_done)

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
        apply_headers(response, message.get("headers", []))
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
    apply_headers(streaming, message.get("headers", []))
    return streaming
