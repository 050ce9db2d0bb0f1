"""Where a notebook page loads marimo's frontend assets from."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.templatetags.static import static

FINDER = "notebook_host.finders.MarimoAssetsFinder"


def uses_staticfiles() -> bool:
    """True when the project serves marimo's assets through staticfiles."""
    return FINDER in getattr(settings, "STATICFILES_FINDERS", ())


def default_asset_url() -> str | None:
    """STATIC_URL's ``marimo/<version>`` when the finder is installed, else None.

    None keeps marimo's page-relative ``./assets``: each notebook path serves
    them (still public, sessionless), as plain marimo does.
    """
    if not uses_staticfiles():
        return None
    from .finders import static_prefix

    return static(static_prefix()).rstrip("/")


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
    from servestatic import ServeStaticASGI

    from .cache_headers import add_headers

    return ServeStaticASGI(
        application,
        root=str(root),
        prefix="/" + prefix.strip("/") + "/",
        add_headers_function=add_headers,
    )
