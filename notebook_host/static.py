"""Where a notebook page loads marimo's frontend assets from."""

from __future__ import annotations

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
