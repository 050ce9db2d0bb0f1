"""The front's HTTP side: an API call or download forwarded to its session's worker.

An API call or download of a session is checked against the Redis directory
(owner key, page) and forwarded to the session's worker; the answer comes
back to this process's mailbox channel, as one message or numbered pieces.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from ...admission import ownership
from ...admission.arrival import Admitted, Arrival, Kind
from ...marimo import protocol
from ...metrics import record as metrics
from ...runtime.owners import same_owner
from ...transports.bridge import apply_headers
from .. import replay_store, settings, state
from ..protocol import HTTP, WHOLE, Incoming, Outgoing, SequenceGap, reply_headers, wire_scope

logger = logging.getLogger(__name__)


UNKNOWN_SESSION = "Unknown or expired session"


class Mailbox:
    """This process's reply channel: answers to forwarded requests, by request id."""

    def __init__(self) -> None:
        self.channel = ""
        self.waiting: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def ready(self) -> str:
        async with self._lock:
            if self.task is None or self.task.done():
                layer = get_channel_layer()
                self.channel = await layer.new_channel()
                self.task = asyncio.create_task(self._receive_forever(layer))
        return self.channel

    async def _receive_forever(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: retry, bounded
                metrics.layer_error("receive")
                logger.warning("Mailbox receive failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            queue = self.waiting.get(message.get("rid", ""))
            if queue is not None:
                queue.put_nowait(message)


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Mailbox] = (
    weakref.WeakKeyDictionary()
)


def mailbox() -> Mailbox:
    loop = asyncio.get_running_loop()
    found = _mailboxes.get(loop)
    if found is None:
        found = _mailboxes[loop] = Mailbox()
    return found


def needs_worker(request: HttpRequest, subpath: str) -> bool:
    """True for the routes served by a session's kernel (API calls, downloads)."""
    if subpath.startswith(protocol.API_PREFIX):
        return request.headers.get(protocol.SESSION_HEADER) is not None or request.method not in (
            "GET",
            "HEAD",
        )
    return subpath.startswith(protocol.DOWNLOAD_PREFIX) and subpath != protocol.EMPTY_DOWNLOAD


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


async def forward(request: HttpRequest, arrival: Arrival, admitted: Admitted) -> HttpResponse:
    """An API call or download the pipeline admitted, answered by the session's worker.

    The owner check is the cluster's: the session's record in Redis must name
    this browser (its owner key) and this page.
    """
    owner, prefix = arrival.owner, admitted.prefix
    subpath = arrival.subpath or ""
    try:
        if arrival.kind is Kind.DOWNLOAD:
            thread = protocol.download_thread_id(subpath)
            entries = [e for e in await state.sessions_of(owner) if e.prefix == prefix]
            if thread is None or not entries:
                logger.warning("Refused %s: no session of this browser made it", request.path)
                return _error(404, UNKNOWN_SESSION)
            extra = {"candidates": [e.session_id for e in entries], "thread": thread}
        else:
            session_id = request.headers.get(protocol.SESSION_HEADER)
            entry = await state.session(session_id)
            if entry is None or entry.prefix != prefix or not same_owner(entry.owner, owner):
                ownership.log_refusal(request.method, request.path, session_id)
                return _error(404, UNKNOWN_SESSION)
            entries, extra = [entry], {"session_id": entry.session_id}
            await replay_store.record(entry, subpath, admitted.body)
    except state.ClusterUnavailable as exc:
        logger.error("Refused %s: %s", request.path, exc)
        return _error(503, exc.public)
    entry = entries[0]
    assert admitted.scope is not None
    scope = dict(admitted.scope)
    if entry.user_info is not None and entry.user_id == getattr(arrival.user, "pk", None):
        scope["user"] = entry.user_info  # what the socket's kernel saw: no query per click
    scope[protocol.PAGE_SCOPE_KEY] = {
        "path": prefix + "/",
        "query_string": entry.page_query,
    }
    route = {"path": request.path_info, "root_path": ""}
    response: HttpResponse = _error(404, UNKNOWN_SESSION)
    for channel in dict.fromkeys(e.channel for e in entries):  # a download: each holder
        response = await request_worker(channel, {**extra, "route": route}, scope, admitted.body)
        if response.status_code != 404:
            break
    return response


class WorkerError(Exception):
    """A forwarded request got no (complete) answer: status and a sentence."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def exchange(
    channel: str, fields: dict[str, Any], scope: dict[str, Any], body: bytes
) -> AsyncGenerator[dict[str, Any], None]:
    """Send one HTTP request to a worker; yield its start, then its body pieces.

    A small answer comes as one "whole" message, yielded as the same two.

    Raises WorkerError when the worker does not answer in time, a piece is
    missing, or it answers with an error of its own.
    """
    box = mailbox()
    reply = await box.ready()
    rid = uuid.uuid4().hex
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    box.waiting[rid] = queue
    base = {
        "type": HTTP,
        "rid": rid,
        "reply": reply,
        "scope": wire_scope(scope, protocol.PAGE_SCOPE_KEY),
        **fields,
    }
    layer = get_channel_layer()
    timeout = settings.timeout()
    incoming = Incoming()
    try:
        try:
            for message in Outgoing().messages(base, "body", body):
                await asyncio.wait_for(layer.send(channel, message), timeout)
        except TimeoutError as exc:
            raise WorkerError(504, "The notebook's worker did not take the request") from exc
        except Exception as exc:
            detail = f"Could not reach the notebook's worker ({type(exc).__name__})"
            raise WorkerError(503, detail) from exc
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout)
                incoming.check(message)
            except TimeoutError as exc:
                raise WorkerError(504, "The notebook's worker did not answer in time") from exc
            except SequenceGap as exc:
                raise WorkerError(502, f"A message from the worker was lost ({exc})") from exc
            event = message.get("event")
            if event == "error":
                raise WorkerError(int(message["status"]), str(message.get("detail", "")))
            if event == WHOLE:  # start and the whole body in one message
                yield {k: v for k, v in message.items() if k != "body"} | {"event": "start"}
                yield {"event": "body", "body": message.get("body") or b"", "end": True}
                return
            yield message
            if message.get("end"):
                return
    finally:
        box.waiting.pop(rid, None)


async def request_worker(
    channel: str, fields: dict[str, Any], scope: dict[str, Any], body: bytes
) -> HttpResponse:
    """One forwarded request as a Django response; streamed when the body is large."""
    replies = exchange(channel, fields, scope, body)
    chunks: list[bytes] = []
    try:
        start = await anext(replies)
        async for piece in replies:
            chunks.append(bytes(piece.get("body") or b""))
            if piece.get("end"):
                response = HttpResponse(b"".join(chunks), status=int(start["status"]))
                apply_headers(response, reply_headers(start.get("headers", [])))
                return response
            if len(chunks) > 1:
                break
    except WorkerError as exc:
        await replies.aclose()
        return _error(exc.status, str(exc))

    async def rest() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        try:
            async for piece in replies:
                yield bytes(piece.get("body") or b"")
        except WorkerError as exc:  # the status is sent: cut the download short
            logger.warning("Forwarded download broke off: %s", exc)

    streaming = StreamingHttpResponse(rest(), status=int(start["status"]))
    apply_headers(streaming, reply_headers(start.get("headers", [])))
    return streaming
