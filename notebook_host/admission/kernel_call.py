"""The kernel-API fast path's admission: a call of an open session, from its scope alone.

The socket that opened the session passed every check (:mod:`.checks`) and
was counted when its session was opened. A call adds what :func:`check_call`
checks (owner, page, route, host, origin, body size), without Django's
middleware or a database query (:mod:`notebook_host.transports.fastpath`).
Both backends run it against their own record of the session:
:func:`admit_kernel_call` for a session in this process, the workers
backend against the cluster's directory.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest

from ..marimo import protocol, routes
from ..runtime import session_directory
from ..runtime.owners import owner_key
from ..runtime.session_record import SessionRecord
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


def call_session_id(scope: dict[str, Any]) -> str:
    """The session a kernel API call names; Refused when the scope is no kernel call."""
    if scope["type"] != "http" or scope.get("method") != "POST":
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    if protocol.KERNEL_API_INFIX not in scope.get("path", ""):
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    raw_id = header(scope, protocol.SESSION_HEADER_RAW)
    if not raw_id:
        raise Refused(Reason.NOT_A_KERNEL_CALL)
    return raw_id.decode("latin-1")


def check_call(
    scope: dict[str, Any], prefix: str, owned: Callable[[str | None], bool]
) -> ASGIRequest:
    """The call as Django reads it, once it passes what its session's record allows.

    ``prefix`` is the session's page (without its slash); ``owned(key)`` says
    whether the owner key of the caller's cookies owns the session. Both
    backends run these checks, each against its own session record.
    """
    if not body_size_ok(scope):
        raise Refused(Reason.BODY_TOO_LARGE)
    request = ASGIRequest(scope, io.BytesIO())
    path = request.path
    if not path.startswith(prefix + protocol.KERNEL_API_INFIX):
        raise Refused(Reason.NOT_OWNER)  # another page's session
    if routes.route_of(path[len(prefix) + 1 :]) is not routes.Route.KERNEL_API:
        raise Refused(Reason.NOT_A_KERNEL_CALL)  # refused by the route table: the view says so
    try:
        request.get_host()
    except DisallowedHost as exc:
        raise Refused(Reason.BAD_HOST) from exc
    if not origin_allowed(request):
        raise Refused(Reason.BAD_ORIGIN)
    if not owned(owner_key(request)):
        raise Refused(Reason.NOT_OWNER)  # a stranger's, or closed: the view answers that
    return request


def call_scope(scope: dict[str, Any], path: str, record: SessionRecord) -> dict[str, Any]:
    """The kernel scope of a fast-path call: the socket's user, meta and page."""
    return kernel_scope(
        call_base(scope, path),
        prefix=record.prefix or "",
        page_query=record.page_query,
        user=record.user_info,
        meta=record.meta,
        path_params=record.path_params,
    )


def admit_kernel_call(scope: dict[str, Any]) -> Admitted | Refused:
    """A kernel API call of a session in this process, judged from its ASGI scope alone.

    Refused means "let the view answer": it runs :func:`.pipeline.admit`
    and gives the real status.
    """
    try:
        return _admit(scope)
    except Refused as refused:
        return refused


def _admit(scope: dict[str, Any]) -> Admitted:
    record = session_directory.directory.lookup(call_session_id(scope))
    if record is None or record.app is None or record.prefix is None:
        raise Refused(Reason.NOT_OWNER)
    path = check_call(scope, record.prefix, lambda key: ownership.live_and_owned(record, key)).path
    if not record.notebook.file.is_file():
        raise Refused(Reason.NOTEBOOK_MISSING)  # deleted: the view decides
    return Admitted(
        notebook=record.notebook,
        app=record.app,
        scope=call_scope(scope, path, record),
        record=record,
        prefix=record.prefix,
    )
