"""Notebook pages inside other pages: the embed marker, framing, the frame script.

``{% notebook %}`` frames a notebook page with ``?nh-embed=auto`` (or
``=fixed`` for a fixed height). That marker is this module's business only:
it is taken off the query before anything else reads it (page, socket and
the kernel never see it, a notebook's ``params=`` never validates it), and
the page answer gets, in embedded mode, a small style and script in its
``<head>`` (hide marimo's page chrome and padding; report the content height
to the parent page in ``auto`` mode).

Every response of a notebook route may be framed by the site's own origin
and ``NOTEBOOK_HOST["FRAME_ANCESTORS"]``, whatever ``X_FRAME_OPTIONS`` says
for the rest of the site.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string

from ..conf import get_config
from ..marimo import protocol
from .bridge import edit_html

#: The reserved query parameter that puts a notebook page in embedded mode.
EMBED_PARAM = "nh-embed"
#: The message type a framed page posts to its parent (see static embed.js).
HEIGHT_MESSAGE = "notebook_host:height"
#: The host page's answer to each height: its sizing script runs.
SIZED_MESSAGE = "notebook_host:sized"
#: Milliseconds a framed page waits for that answer before it says it cannot
#: follow its content's height, and scrolls inside instead.
SIZED_TIMEOUT_MS = 4000
#: What such a page says, at its top.
UNSIZED_NOTICE = (
    "This frame cannot follow the notebook's height: the host page's sizing script "
    "did not run. Scroll inside the frame."
)
#: The host page's sizing script, inlined by {% notebook %} (no static serving needed).
HOST_SCRIPT_FILE = Path(__file__).resolve().parents[1] / "static" / "notebook_host" / "embed.js"


class EmbedMode(enum.StrEnum):
    #: The frame follows the content's height; no scrollbar inside it.
    AUTO = "auto"
    #: The host page fixes the height; the page scrolls inside the frame.
    FIXED = "fixed"


def _split(query: str) -> tuple[str, EmbedMode | None, bool]:
    """(query without the marker, the marker's mode, whether a marker was there).

    Only the marker's segments are removed; the rest stays byte for byte, so
    a canonical query stays canonical. An unknown marker value is dropped
    and means no embedded mode.
    """
    kept: list[str] = []
    mode: EmbedMode | None = None
    found = False
    for segment in query.split("&") if query else []:
        name, _, value = segment.partition("=")
        if unquote_plus(name) == EMBED_PARAM:
            found = True
            try:
                mode = EmbedMode(unquote_plus(value))
            except ValueError:
                mode = None
            continue
        kept.append(segment)
    return "&".join(kept), mode, found


def take_marker(request: HttpRequest) -> EmbedMode | None:
    """Remove the marker from ``request``'s query (META and ASGI scope); its mode."""
    query = request.META.get("QUERY_STRING", "")
    stripped, mode, found = _split(query)
    if not found:
        return None
    request.META["QUERY_STRING"] = stripped
    request.__dict__.pop("GET", None)  # Django caches the parsed query
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict) and "query_string" in scope:
        scope["query_string"] = stripped.encode("latin-1")
    return mode


def take_scope_marker(scope: dict[str, Any]) -> EmbedMode | None:
    """The same for a websocket scope: the kernel never sees the marker."""
    raw = scope.get("query_string", b"")
    stripped, mode, found = _split(raw.decode("latin-1"))
    if found:
        scope["query_string"] = stripped.encode("latin-1")
    return mode


def with_marker(url: str, mode: EmbedMode) -> str:
    """``url`` with the marker appended to its query (frames, redirects)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, f"{EMBED_PARAM}={mode.value}") if q)
    return urlunsplit(parts._replace(query=query))


def keep_marker(request: HttpRequest, response: HttpResponse, mode: EmbedMode | None) -> None:
    """A redirect to this page (slash, canonical query) stays in embedded mode."""
    location = response.get("Location")
    if mode is None or location is None or not 300 <= response.status_code < 400:
        return
    if urlsplit(location).path.startswith(request.path.rstrip("/")):
        response["Location"] = with_marker(location, mode)


# -- framing -------------------------------------------------------------------


def frame_ancestors() -> list[str]:
    """Origins besides the site's own that may frame notebook pages."""
    return list(get_config()["FRAME_ANCESTORS"])


def framing_headers() -> list[tuple[str, str]]:
    """X-Frame-Options for old browsers, CSP frame-ancestors for the others.

    Browsers that know CSP ignore X-Frame-Options when frame-ancestors is
    present, so extra origins work there; older ones allow the site only.
    """
    ancestors = " ".join(["'self'", *frame_ancestors()])
    return [
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Content-Security-Policy", f"frame-ancestors {ancestors}"),
    ]


def allow_framing(response: HttpResponse | StreamingHttpResponse) -> None:
    """Set the framing headers on one response of a notebook route.

    XFrameOptionsMiddleware leaves a response that already has the header
    alone, so the project's ``X_FRAME_OPTIONS`` keeps applying elsewhere.
    """
    for name, value in framing_headers():
        response[name] = value


def framing_send(
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """An ASGI ``send`` adding the framing headers (the kernel API fast path)."""
    extra = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in framing_headers()]
    names = {name for name, _ in extra}

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            message = {**message, "headers": [*headers, *extra]}
        await send(message)

    return wrapped


# -- the host page -----------------------------------------------------------


@cache
def host_script() -> str:
    """The host page's sizing script, as {% notebook %} inlines it."""
    return HOST_SCRIPT_FILE.read_text(encoding="utf-8")


# -- the framed page ---------------------------------------------------------


def frame_head(mode: EmbedMode) -> str:
    """The style and script a framed page gets in its ``<head>``."""
    config = {
        "mode": mode.value,
        "origins": frame_ancestors(),
        "message": HEIGHT_MESSAGE,
        "sized": SIZED_MESSAGE,
        "ack_ms": SIZED_TIMEOUT_MS,
        "unsized": UNSIZED_NOTICE,
        "app": protocol.PAGE_APP_ID,
    }
    context = {
        "config": config,
        "menu": protocol.PAGE_MENU_SELECTOR,
        "padding": ", ".join(protocol.PAGE_PADDING_SELECTORS),
        "app": "#" + protocol.PAGE_APP_ID,
    }
    return cast(str, render_to_string("notebook_host/embed/frame_head.html", context))


def inject(response: HttpResponse | StreamingHttpResponse, mode: EmbedMode | None) -> None:
    """Put the embedded mode's head into a served notebook page."""
    if mode is None:
        return
    head = frame_head(mode)

    def add_head(html: str) -> str:
        at = html.find("</head>")
        return html[:at] + head + html[at:] if at >= 0 else head + html

    edit_html(response, add_head)
