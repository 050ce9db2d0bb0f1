"""Every route marimo's run-mode app registers, classified once.

marimo 0.25.2 registers about 110 routes for a notebook; a run-mode page uses
a dozen. Each registered route is named here with the kind notebook_host
gives it; a request below a notebook's URL whose kind is :attr:`Route.REFUSED`
is answered 404 before marimo sees it. ``tests/unit/marimo/test_routes.py``
enumerates the pinned marimo's routes and fails on one this table does not
classify, so an upgrade that adds a route cannot open a way into a kernel
silently. Nothing here imports marimo.
"""

from __future__ import annotations

import enum


class Route(enum.Enum):
    """What a sub-route below a notebook's URL is, and so which checks it gets."""

    PAGE = "page"
    SOCKET = "kernel socket"
    KERNEL_API = "kernel API"
    DOWNLOAD = "download"
    FRONTEND_FILE = "frontend file"
    PUBLIC_FILE = "public file"
    HEALTH = "health"
    REFUSED = "refused"


#: The checks each kind gets, in order (docs/security.md shows this table).
CHECKS: dict[Route, tuple[str, ...]] = {
    Route.PAGE: ("access", "slash", "params", "limits"),
    Route.SOCKET: ("origin", "access", "session id", "params", "owner", "limits"),
    Route.KERNEL_API: ("access", "origin", "owner", "body"),
    Route.DOWNLOAD: ("access", "owner"),
    Route.FRONTEND_FILE: ("none: marimo's own frontend files, the same for everyone",),
    Route.PUBLIC_FILE: ("access",),
    Route.HEALTH: ("access",),
    Route.REFUSED: ("answered 404 (HTTP) or closed 4004 (socket) before marimo sees it",),
}

#: The kernel API calls a run-mode page makes (all POST with Marimo-Session-Id).
KERNEL_API_ROUTES: frozenset[str] = frozenset(
    {
        "api/kernel/set_ui_element_value",  # every widget change
        "api/kernel/set_model_value",  # anywidget models
        "api/kernel/function_call",  # mo.ui.chat, anywidget RPC
        "api/kernel/stdin",  # input() in a cell
        "api/kernel/interrupt",  # the stop button (marimo answers 403 in run mode)
        "api/kernel/read_code",  # "download code", include_code only (marimo checks)
        "api/export/html",  # "download as HTML" (marimo drops the code unless shown)
    }
)

#: First path segments of marimo's frontend files (identical for every notebook).
FRONTEND_FILE_ROUTES: frozenset[str] = frozenset(
    {
        "assets",
        "favicon.ico",
        "manifest.json",
        "android-chrome-192x192.png",
        "android-chrome-512x512.png",
        "apple-touch-icon.png",
        "logo.png",
    }
)

#: marimo's route paths (as Starlette registers them) and their kind. Paths a
#: run-mode page does not use are refused, by prefix where marimo groups them.
REGISTERED: dict[str, Route] = {
    "/": Route.PAGE,
    "/ws": Route.SOCKET,
    **{f"/{route}": Route.KERNEL_API for route in KERNEL_API_ROUTES},
    "/@file/{filename_and_length:path}": Route.DOWNLOAD,
    "/assets": Route.FRONTEND_FILE,
    "/{path:path}": Route.FRONTEND_FILE,  # favicon.ico, manifest.json, logos
    "/public-files-sw.js": Route.PUBLIC_FILE,
    "/public/{filepath:path}": Route.PUBLIC_FILE,
    "/health": Route.HEALTH,
    "/healthz": Route.HEALTH,
    # A second kernel transport that starts or takes over sessions.
    "/sse": Route.REFUSED,
    # marimo's RTC relay and the terminal: edit-mode features.
    "/ws_sync": Route.REFUSED,
    "/terminal/ws": Route.REFUSED,
    # Server status, versions, connection counts and absolute paths.
    "/api/status": Route.REFUSED,
    "/api/status/connections": Route.REFUSED,
    "/api/sessions": Route.REFUSED,
    "/api/version": Route.REFUSED,
    "/api/environment": Route.REFUSED,
    "/api/usage": Route.REFUSED,
    "/og/thumbnail": Route.REFUSED,
    # marimo's own login (Django signs users in).
    "/auth/login": Route.REFUSED,
    "/auth/token": Route.REFUSED,
}

#: Route path prefixes refused whole: edit-mode and server-wide APIs.
REFUSED_PREFIXES: tuple[str, ...] = (
    "/api/kernel/",
    "/api/files/",
    "/api/secrets/",
    "/api/cache/",
    "/api/documentation/",
    "/api/document/",
    "/api/datasources/",
    "/api/sql/",
    "/api/storage/",
    "/api/ai/",
    "/api/home/",
    "/api/export/",
    "/api/packages/",
    "/api/lsp/",
)


def classify_registered(path: str) -> Route | None:
    """The kind of one of marimo's registered route paths; None: not classified."""
    if path in REGISTERED:
        return REGISTERED[path]
    if path.startswith(REFUSED_PREFIXES):
        return Route.REFUSED
    return None


def route_of(subpath: str) -> Route:
    """The kind of a request's sub-route below a notebook's URL ("" is the page)."""
    if subpath == "":
        return Route.PAGE
    if subpath == "ws":
        return Route.SOCKET
    if subpath in KERNEL_API_ROUTES:
        return Route.KERNEL_API
    if subpath.startswith("@file/"):
        return Route.DOWNLOAD
    first = subpath.split("/", 1)[0]
    if first in FRONTEND_FILE_ROUTES and (first == "assets" or first == subpath):
        return Route.FRONTEND_FILE
    if subpath == "public-files-sw.js" or subpath.startswith("public/"):
        return Route.PUBLIC_FILE
    if subpath in ("health", "healthz"):
        return Route.HEALTH
    return Route.REFUSED


def claimed(subpath: str) -> bool:
    """True when a notebook's URL pattern claims this sub-route (it is not refused)."""
    return route_of(subpath) is not Route.REFUSED
