"""A fast path for the kernel API calls of an open session.

Every widget change is a POST to ``<page>/api/kernel/<op>``. Through Django's
URLconf, middleware, session and user loading such a call costs ~15 ms more
than in plain marimo (bench/compare.py). The call belongs to a kernel session
whose socket was authorised when it opened, so this ASGI middleware hands it
straight to that session's marimo app when, and only when, everything the
Django path would check holds without a database query:

- the ``Marimo-Session-Id`` names a live session recorded by the consumer,
  and the request path is that session's own page prefix;
- the request comes from the session's owner (:mod:`notebook_host.runtime.owners`:
  the same Django session or anonymous browser cookie as the socket that
  opened it);
- the Host is one of ALLOWED_HOSTS and Origin/Referer passes the CSRF
  stand-in (:mod:`notebook_host.admission.origin`);
- the body is announced by Content-Length and within
  DATA_UPLOAD_MAX_MEMORY_SIZE, and is JSON marimo can take (else the view
  answers 400, see :func:`notebook_host.marimo.protocol.api_body_problem`).

The checks are the admission pipeline's
(:func:`notebook_host.admission.kernel_call.admit_kernel_call`). Anything it
refuses goes through Django unchanged, so the fast path never refuses a
request: refusals and error pages stay the view's. Access rules are checked
when the socket opens (as marimo's own websocket does), not on each call.
``NOTEBOOK_HOST["KERNEL_API_FAST_PATH"] = False`` turns it off.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse

from ..admission.kernel_call import admit_kernel_call, body_size_ok, header
from ..admission.origin import origin_allowed
from ..admission.refusals import Refused
from ..conf import get_config
from ..marimo import routes
from ..marimo.protocol import (
    KERNEL_API_INFIX,
    PAGE_SCOPE_KEY,
    SESSION_HEADER_RAW,
    api_body_problem,
)
from ..metrics import record as metrics
from ..runtime import replay, session_rows
from ..runtime.owners import owner_key, same_owner
from ..runtime.session_directory import SessionRecord
from ..userinfo import visible_headers
from ..workers.protocol import reply_headers
from ..workers.settings import enabled as workers_enabled
from .bridge import ASGIApp, replaying
from .embedding import framing_send

logger = logging.getLogger(__name__)


def session_for(scope: dict[str, Any]) -> tuple[SessionRecord, dict[str, Any]] | None:
    """The session record and marimo scope for a call the fast path may take."""
    admitted = admit_kernel_call(scope)
    if isinstance(admitted, Refused):
        return None
    assert admitted.record is not None and admitted.scope is not None
    return admitted.record, admitted.scope


async def read_body(receive: Any) -> bytes | None:
    """The whole request body; None when the client left before sending it."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, detail: str) -> None:
    answer = JsonResponse({"detail": detail}, status=status)
    content_type = answer["Content-Type"].encode("latin-1")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": answer.content})


async def forward_to_worker(
    scope: dict[str, Any], receive: Any, send: Any, django_app: ASGIApp
) -> bool:
    """The kernel-API fast path with workers: an owner's call, no database query.

    The same checks as :func:`session_for`, against the Redis directory;
    False lets Django's view answer (refusals, errors).
    """
    # Redis and the channel layer are needed only with KERNELS = "workers".
    from ..workers import replay_store, state
    from ..workers.front import forwarding
    from ..workers.state import ClusterUnavailable

    if scope["type"] != "http" or scope.get("method") != "POST":
        return False
    if KERNEL_API_INFIX not in scope.get("path", ""):
        return False
    raw_id = header(scope, SESSION_HEADER_RAW)
    if not raw_id or not body_size_ok(scope):
        return False
    try:
        entry = await state.session(raw_id.decode("latin-1"))
    except ClusterUnavailable:
        return False  # the view says so
    if entry is None:
        return False
    request = ASGIRequest(scope, io.BytesIO())
    if not request.path.startswith(entry.prefix + KERNEL_API_INFIX):
        return False
    subpath = request.path[len(entry.prefix) + 1 :]
    if routes.route_of(subpath) is not routes.Route.KERNEL_API:
        return False
    try:
        request.get_host()
    except DisallowedHost:
        return False
    if not origin_allowed(request) or not same_owner(entry.owner, owner_key(request)):
        return False
    body = await read_body(receive)
    if body is None:
        return True  # nobody is waiting for an answer
    if api_body_problem(subpath, body) is not None:
        await django_app(scope, replaying(body, receive), send)
        return True
    marimo_scope = {
        **scope,
        "path": request.path,
        "raw_path": request.path.encode("utf-8"),
        "root_path": entry.prefix,
        "headers": visible_headers(list(scope.get("headers", ()))),
        "user": entry.user_info,
        "meta": entry.meta,
        "path_params": entry.path_params,
        PAGE_SCOPE_KEY: {
            "path": entry.prefix + "/",
            "query_string": entry.page_query.encode("latin-1"),
        },
    }
    session_rows.touch(entry.session_id)
    try:
        await replay_store.record(entry, subpath, body)  # kept before the kernel sees it
    except ClusterUnavailable as exc:
        logger.warning("Widget values of %s not kept: %s", entry.session_id, exc)
    fields = {"session_id": entry.session_id, "route": {"path": request.path_info, "root_path": ""}}
    replies = forwarding.exchange(entry.channel, fields, marimo_scope, body)
    try:
        start = await anext(replies)
        await send(
            {
                "type": "http.response.start",
                "status": int(start["status"]),
                "headers": reply_headers(start.get("headers", [])),
            }
        )
    except forwarding.WorkerError as exc:
        await _send_json(send, exc.status, str(exc))
        return True
    try:
        async for piece in replies:
            more = not piece.get("end")
            body_message = {"type": "http.response.body", "body": bytes(piece.get("body") or b"")}
            await send({**body_message, "more_body": more})
    except forwarding.WorkerError as exc:
        logger.warning("Forwarded %s broke off: %s", request.path, exc)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    return True


class KernelAPIFastPath:
    """ASGI middleware in front of Django's HTTP app (see the module docstring)."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if get_config()["KERNEL_API_FAST_PATH"] and workers_enabled():
            if not await forward_to_worker(scope, receive, framing_send(send), self.django_app):
                await self.django_app(scope, receive, send)
            return
        found = session_for(scope) if get_config()["KERNEL_API_FAST_PATH"] else None
        if found is None:
            await self.django_app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # nobody is waiting for an answer
        record, marimo_scope = found
        subpath = marimo_scope["path"][len(record.prefix or "") + 1 :]
        if api_body_problem(subpath, body) is not None:
            # A body marimo would answer with a 500: the view says 400.
            await self.django_app(scope, replaying(body, receive), send)
            return
        replay.remember(record, subpath, body)  # kept before the kernel sees it
        app = record.app
        assert app is not None
        app.touch()
        session_rows.touch(record.session_id)
        metrics.change_posted(record.session_id, marimo_scope["path"])
        await app(marimo_scope, replaying(body, receive), framing_send(send))
