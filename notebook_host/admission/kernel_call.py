"""The kernel-API fast path's admission: a call of an open session, from its scope alone.

The socket that opened the session passed every check (:mod:`.checks`) and
was counted when its session was opened; :func:`admit_kernel_call` checks
what a call adds (owner, path, host, origin, body size) without Django's
middleware or a database query (:mod:`notebook_host.transports.fastpath`).
"""

from __future__ import annotations

import io
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest

from ..marimo import protocol, routes
from ..runtime import session_directory
from ..runtime.owners import owner_key
from . import ownership
from .arrival import Admitted
from .origin import origin_allowed
from .refusals import Reason, Refused
from .scope import call_base, kernel_scope


def header(scope: dict[str, Any], name: bytes) -> bytes | None:
    """The value of an ASGI scope's header ``name`` (lower case), if sent."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return cast(bytes, value)
    return None


def body_size_ok(scope: dict[str, Any]) -> bool:
    """The body is announced by Content-Length, within DATA_UPLOAD_MAX_MEMORY_SIZE."""
    length = header(scope, b"content-length")
    if length is None or not length.isdigit():
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or int(length) <= limit


def admit_kernel_call(scope: dict[str, Any]) -> Admitted | Refused:
    """A kernel API call of an open session, judged from its ASGI scope alone.

    Refused means "let the view answer": it runs :func:`.pipeline.admit`
    and gives the real status.
    """
    try:
        return _admit(scope)
    except Refused as refused:
        return refused


def _admit(scope: dict[str, Any]) -> Admitted:
    if scope["type"] != "http" or scope.get("method") != "POST":
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    if protocol.KERNEL_API_INFIX not in scope.get("path", ""):
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    raw_id = header(scope, protocol.SESSION_HEADER_RAW)
    if not raw_id:
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    record = session_directory.directory.lookup(raw_id.decode("latin-1"))
    if record is None or record.app is None or record.prefix is None:
        raise Refused(Reason.NOT_OWNER)
    if not body_size_ok(scope):
        raise Refused(Reason.BODY_TOO_LARGE)
    request = ASGIRequest(scope, io.BytesIO())
    path = request.path
    if not path.startswith(record.prefix + protocol.KERNEL_API_INFIX):
        raise Refused(Reason.NOT_OWNER)  # another page's session
    if routes.route_of(path[len(record.prefix) + 1 :]) is not routes.Route.KERNEL_API:
        raise Refused(Reason.NOT_A_KERNEL_CALL)  # refused by the route table: the view says so
    try:
        request.get_host()
    except DisallowedHost as exc:
        raise Refused(Reason.BAD_HOST) from exc
    if not origin_allowed(request):
        raise Refused(Reason.BAD_ORIGIN)
    if not ownership.live_and_owned(record, owner_key(request)):
        raise Refused(Reason.NOT_OWNER)  # a stranger's, or closed: the view answers that
    if not record.notebook.file.is_file():
        raise Refused(Reason.NOTEBOOK_MISSING)  # deleted: the view decides
    marimo_scope = kernel_scope(
        call_base(scope, path),
        prefix=record.prefix,
        page_query=record.page_query,
        user=record.user_info,
        meta=record.meta,
        path_params=record.path_params,
    )
    return Admitted(
        notebook=record.notebook,
        app=record.app,
        scope=marimo_scope,
        record=record,
        prefix=record.prefix,
    )
