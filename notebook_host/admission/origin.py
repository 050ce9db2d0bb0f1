"""One origin rule for marimo's POSTs and the kernel websocket.

marimo's frontend sends no CSRF token (pitfall 2 in docs/architecture.md), so
its POSTs are CSRF-exempt only behind this: the Origin (or, when a browser
sends none, the Referer) must be this site's own scheme, host and port, or
one of CSRF_TRUSTED_ORIGINS. A socket gets the same rule from
:class:`SocketOriginValidator` (Channels' ``AllowedHostsOriginValidator``
compares host names only, so another port or scheme on the same host
passed). ``Origin: null`` (sandboxed frames, some redirects) is refused on
both, as Django's CSRF check refuses it.
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.utils.http import is_same_domain

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

#: The HTTP scheme a websocket's page was served with.
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _request_origin(request: HttpRequest) -> str | None:
    # META, not request.headers: the same values, without building the
    # case-insensitive mapping of every header on each kernel call.
    origin: str | None = request.META.get("HTTP_ORIGIN")
    if origin == "null":
        return None
    if origin:
        return origin.rstrip("/")
    referer = request.META.get("HTTP_REFERER")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _trusted(origin: str) -> bool:
    parts = urlsplit(origin)
    for pattern in getattr(settings, "CSRF_TRUSTED_ORIGINS", []):
        trusted = urlsplit(pattern)
        if trusted.scheme != parts.scheme:
            continue
        host = trusted.netloc
        if host.startswith("*"):
            if is_same_domain(parts.netloc, host[1:]):
                return True
        elif host == parts.netloc:
            return True
    return False


def from_this_site(request: HttpRequest) -> bool:
    """True when the request's Origin (or Referer) is this site or a trusted origin."""
    origin = _request_origin(request)
    if origin is None:
        return False
    if origin == f"{request.scheme}://{request.get_host()}":
        return True
    return _trusted(origin)


def origin_allowed(request: HttpRequest) -> bool:
    """True when an unsafe request comes from this site's own pages."""
    if request.method in SAFE_METHODS:
        return True
    return from_this_site(request)


def socket_request(scope: dict[str, Any]) -> HttpRequest:
    """A websocket's handshake as a Django request, for Django's host and scheme rules."""
    scheme = _HTTP_SCHEMES.get(str(scope.get("scheme") or "ws"), "http")
    http = {**scope, "type": "http", "method": "GET", "scheme": scheme}
    return ASGIRequest(http, io.BytesIO())


def socket_origin_allowed(scope: dict[str, Any]) -> bool:
    """A websocket's Host is allowed and its Origin is this site (or trusted)."""
    request = socket_request(scope)
    try:
        request.get_host()
    except DisallowedHost:
        return False
    if not request.headers.get("Origin"):
        return False  # every browser sends one on a websocket
    return from_this_site(request)


class SocketOriginValidator:
    """ASGI middleware: a websocket from another origin is refused (HTTP 403)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not socket_origin_allowed(scope):
            origin = dict(scope.get("headers", ())).get(b"origin", b"").decode("latin-1")
            logger.warning("Refused websocket %s: origin %r", scope.get("path"), origin)
            await WebsocketDenier()(scope, receive, send)
            return
        await self.application(scope, receive, send)
