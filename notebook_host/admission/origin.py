"""The check that stands in for CSRF on marimo's POST endpoints.

marimo's frontend sends no CSRF token (pitfall 2 in docs/architecture.md), so its POSTs are
CSRF-exempt only behind this: the Origin (or, failing that, the Referer) must
be this host or one of CSRF_TRUSTED_ORIGINS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import is_same_domain

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _request_origin(request: HttpRequest) -> str | None:
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.headers.get("Referer")
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


def origin_allowed(request: HttpRequest) -> bool:
    """True when an unsafe request comes from this site's own pages."""
    if request.method in SAFE_METHODS:
        return True
    origin = _request_origin(request)
    if origin is None:
        return False
    if origin == f"{request.scheme}://{request.get_host()}":
        return True
    return _trusted(origin)
