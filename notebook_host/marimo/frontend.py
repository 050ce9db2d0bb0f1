"""marimo's built frontend files, and where a notebook page loads them from.

They are the same public files for every notebook. Served below each page
(``./assets``, as plain marimo does) or, with the staticfiles finder
(:class:`notebook_host.finders.MarimoAssetsFinder`), collected once under
``STATIC_URL/marimo/<version>/``.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path
from typing import Any, cast

import marimo
from django.conf import settings
from django.templatetags.static import static
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from .patches import initialise
from .protocol import PAGE_CODE_FONT_PRELOADS, PAGE_DISCONNECTED_PRELOADS

MARIMO_VERSION: str = marimo.__version__

#: The finder's dotted path, as a project lists it in STATICFILES_FINDERS.
FINDER = "notebook_host.finders.MarimoAssetsFinder"


def frontend_dir() -> Path:
    """marimo's built frontend: index.html and assets/."""
    return Path(marimo.__file__).parent / "_static"


def static_prefix() -> str:
    """Where the files live below STATIC_URL: versioned, so they never go stale."""
    return f"marimo/{MARIMO_VERSION}"


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
    return cast(str, static(static_prefix()).rstrip("/"))


_frontend_app: Any = None


def frontend_files() -> Any:
    """An ASGI app serving marimo's bundled frontend files.

    They are the same public files for every notebook, so they are served
    without building a notebook app, a session or a user lookup.
    """
    global _frontend_app
    if _frontend_app is None:
        initialise()
        files = StaticFiles(directory=frontend_dir(), follow_symlink=True)
        # Starlette turns StaticFiles' HTTPException into a plain 404.
        _frontend_app = Starlette(routes=[Mount("/", app=files)])
    return _frontend_app


_PRELOAD = re.compile(r'[ \t]*<link rel="preload"[^>]*href="([^"]*)"[^>]*>\n?')


def trim_page(html: str, *, code_shown: bool) -> str:
    """The run-mode page without the preloads its first paint does not use.

    The disconnected-state backgrounds load when the page first shows that
    state instead; the code font, unless the page can show code
    (``include_code``), when monospace text first needs it. Every other
    preload stays: what the page shows is the same, one round trip later
    at most for those two cases.
    """
    unused = PAGE_DISCONNECTED_PRELOADS + (() if code_shown else PAGE_CODE_FONT_PRELOADS)

    def keep(match: re.Match[str]) -> str:
        name = match.group(1).rsplit("/", 1)[-1]
        return "" if name.startswith(unused) else match.group(0)

    return _PRELOAD.sub(keep, html)


_FILENAME_TAG = re.compile(r"(<marimo-filename hidden>)[^<]*(</marimo-filename>)")
_MOUNT_PATHS = re.compile(r'("(?:filename|cwd)":\s*)"(?:[^"\\]|\\.)*"')
_LSP_WORKSPACE = re.compile(r'"lspWorkspace":\s*\{[^{}]*\}')


def hide_server_paths(html: str, name: str) -> str:
    """The page without the server's absolute paths marimo writes into it.

    marimo puts the notebook's absolute path, its folder and the server's
    working directory in every page (for edit mode's file browser and
    language server); a run-mode viewer needs only the file's name.
    """
    html = _FILENAME_TAG.sub(lambda m: m.group(1) + escape(name) + m.group(2), html)
    html = _MOUNT_PATHS.sub(
        lambda m: m.group(1) + (json.dumps(name) if "filename" in m.group(1) else '""'), html
    )
    return _LSP_WORKSPACE.sub('"lspWorkspace": null', html)
