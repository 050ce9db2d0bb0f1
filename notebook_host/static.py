"""Serving collected static files (marimo's frontend among them) in front of Django."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from .cache_headers import add_headers


def serve_collected_static(application: Any) -> Any:
    """Put ServeStatic's ASGI app in front of ``application`` for STATIC_ROOT.

    Through ServeStatic's Django middleware every asset still pays Django's
    request handling (signals and sync middleware run in a thread, one at a
    time); ~300 files on a cold marimo page make that the bulk of the load.
    In front of Django, a collected file is answered at once (gzip/brotli
    variants, the immutable headers of :mod:`notebook_host.cache_headers`).
    Returns ``application`` unchanged when there is nothing local to serve:
    DEBUG (use the middleware and finders then), no STATIC_ROOT, or a
    STATIC_URL on another host (a CDN).
    """
    root = getattr(settings, "STATIC_ROOT", None)
    prefix = urlsplit(settings.STATIC_URL or "").path if settings.STATIC_URL else ""
    if settings.DEBUG or not root or not prefix or urlsplit(settings.STATIC_URL).netloc:
        return application
    from servestatic import ServeStaticASGI  # optional dependency: notebook-host[static]

    return ServeStaticASGI(
        application,
        root=str(root),
        prefix="/" + prefix.strip("/") + "/",
        add_headers_function=add_headers,
    )
