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

The kernel backend (:mod:`notebook_host.backends`) finds the call's session
and runs the checks (:func:`notebook_host.admission.kernel_call.check_call`)
against its own record of it: this process's directory with local kernels,
the cluster's Redis directory with workers. Anything it refuses goes through
Django unchanged, so the fast path never refuses a request: refusals and
error pages stay the view's. Access rules are checked
when the socket opens (as marimo's own websocket does), not on each call.
``NOTEBOOK_HOST["KERNEL_API_FAST_PATH"] = False`` turns it off.
"""

from __future__ import annotations

from typing import Any

from ..backends import kernels
from ..conf import get_config
from ..marimo.protocol import api_body_problem
from .bridge import ASGIApp, replaying
from .embedding import framing_send


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
        backend = kernels()
        call = await backend.find_call(scope) if get_config()["KERNEL_API_FAST_PATH"] else None
        if call is None:
            await self.django_app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # nobody is waiting for an answer
        if api_body_problem(call.subpath, body) is not None:
            # A body marimo would answer with a 500: the view says 400.
            await self.django_app(scope, replaying(body, receive), send)
            return
        await backend.send_call(call, body, replaying(body, receive), framing_send(send))
