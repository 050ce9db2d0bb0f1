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
(:func:`notebook_host.admission.pipeline.admit_kernel_call`). Anything it
refuses goes through Django unchanged, so the fast path never refuses a
request: refusals and error pages stay the view's. Access rules are checked
when the socket opens (as marimo's own websocket does), not on each call.
``NOTEBOOK_HOST["KERNEL_API_FAST_PATH"] = False`` turns it off.
"""

from __future__ import annotations

from typing import Any

from ..admission.pipeline import Refused, admit_kernel_call
from ..conf import get_config
from ..marimo.protocol import api_body_problem
from ..runtime import session_rows
from ..runtime.session_directory import SessionRecord
from .bridge import ASGIApp, replaying
from .embedding import framing_send


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


class KernelAPIFastPath:
    """ASGI middleware in front of Django's HTTP app (see the module docstring)."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
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
        app = record.app
        assert app is not None
        app.touch()
        session_rows.touch(record.session_id)
        await app(marimo_scope, replaying(body, receive), framing_send(send))
