"""Guards the notebook view runs before marimo sees a request.

- ownership: an API call (``Marimo-Session-Id``) or a download (``@file``)
  must come from the browser session that owns the kernel session, else 404;
- limits: a page that would open one session too many answers 429;
- body size: a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413;
- framing: a download may be framed by the site's own pages (SAMEORIGIN).

Unknown and foreign session ids get the same 404, so an id cannot be probed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from ..admission import limits
from ..marimo import protocol
from ..runtime import session_directory
from ..runtime.owners import owner_key
from ..runtime.session_directory import SessionRecord
from ..targets.notebook import ServedNotebook

logger = logging.getLogger(__name__)


def unknown_session() -> JsonResponse:
    return JsonResponse({"detail": "Unknown or expired session"}, status=404)


def owned_session(
    request: HttpRequest | dict[str, Any], notebook: ServedNotebook, session_id: str | None
) -> SessionRecord | None:
    """The live session ``session_id`` of ``notebook`` if this request owns it.

    ``request`` may be a raw ASGI scope: no database query is made, so an
    ASGI-level fast path can call this before Django's middleware.
    """
    record = session_directory.directory.get(session_id, notebook)
    if record is None or not session_directory.directory.owned_by(session_id, owner_key(request)):
        return None
    if record.app is None or not record.app.has_session(record.session_id):
        return None  # marimo closed it (its TTL ended): not a 500 from marimo
    return record


def check_session_route(
    request: HttpRequest, notebook: ServedNotebook, subpath: str
) -> tuple[HttpResponse | None, SessionRecord | None]:
    """Refuse API calls and downloads for sessions the caller does not own.

    Returns (refusal, None) or (None, the owned session or None if the
    route needs none).
    """
    if subpath.startswith(protocol.API_PREFIX):
        session_id = request.headers.get(protocol.SESSION_HEADER)
        if session_id is None and request.method in ("GET", "HEAD"):
            return None, None  # marimo's session-less reads (version, status)
        record = owned_session(request, notebook, session_id)
        if record is None:
            _log_refusal(request, session_id)
            return unknown_session(), None
        return None, record
    if subpath.startswith(protocol.DOWNLOAD_PREFIX) and subpath != protocol.EMPTY_DOWNLOAD:
        record = _download_owner(request, notebook, subpath)
        if record is None:
            return unknown_session(), None
        return None, record
    return None, None


def _download_owner(
    request: HttpRequest, notebook: ServedNotebook, subpath: str
) -> SessionRecord | None:
    thread_id = protocol.download_thread_id(subpath)
    if thread_id is None:
        logger.warning("Refused %s: not a kernel download URL", request.path)
        return None
    for record in session_directory.directory.live():
        if record.notebook is not notebook or record.app is None:
            continue
        if record.app.session_of_kernel_thread(thread_id) == record.session_id:
            if session_directory.directory.owned_by(record.session_id, owner_key(request)):
                return record
            _log_refusal(request, record.session_id)
            return None
    logger.warning("Refused %s: no live session made this download", request.path)
    return None


def _log_refusal(request: HttpRequest, session_id: str | None) -> None:
    logger.warning(
        "Refused %s %s: session %s is not this browser's (unknown, expired or another owner's)",
        request.method,
        request.path,
        session_id or "(none)",
    )


def page_over_limit(request: HttpRequest, user: Any) -> HttpResponse | None:
    """429 with Retry-After when opening this page would exceed a limit."""
    key = limits.limit_key(user, owner_key(request))
    refusal = limits.check(session_directory.directory, key)
    if refusal is None:
        return None
    logger.warning("Refused page %s for %s: %s", request.path, user, refusal.message)
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse(
            {"detail": refusal.message, "retry_after": refusal.retry_after}, status=429
        )
    else:
        html = render_to_string(
            "notebook_host/error.html",
            {
                "title": "Too many open sessions",
                "message": refusal.message,
                "detail": "",
                # the page tries again by itself when the wait is over
                "refresh": refusal.retry_after,
            },
        )
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(refusal.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def read_body(request: HttpRequest, subpath: str) -> bytes | HttpResponse:
    """The request body; 413 over DATA_UPLOAD_MAX_MEMORY_SIZE; 400 for an
    API body marimo would answer with a 500."""
    try:
        body = request.body
    except RequestDataTooBig:
        logger.warning("Refused %s %s: body too large", request.method, request.path)
        return JsonResponse({"detail": "Request body too large"}, status=413)
    if request.method == "POST" and subpath.startswith(protocol.API_PREFIX):
        problem = protocol.api_body_problem(subpath, body)
        if problem is not None:
            logger.info("Refused %s %s: %s", request.method, request.path, problem)
            return JsonResponse({"detail": problem}, status=400)
    return body


def allow_same_origin_frames(subpath: str, response: HttpResponse) -> None:
    """Let the notebook's own page frame its downloads (``mo.iframe``, ``mo.pdf``).

    marimo serves that HTML or PDF as ``./@file/...`` and frames it; under
    Django's X-Frame-Options: DENY the frame stays empty. SAMEORIGIN lets
    only pages of this site frame it; the page itself keeps DENY.
    """
    if subpath.startswith(protocol.DOWNLOAD_PREFIX):
        response["X-Frame-Options"] = "SAMEORIGIN"
