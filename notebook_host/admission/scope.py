"""The kernel scope: the ASGI scope a notebook's marimo app gets, built here only.

Page, API call, download and socket all hand marimo the same shape
(pitfalls 7 and 8 in docs/architecture.md): the real path with
``root_path`` set to the page's prefix, the headers without the cookies that
would let notebook code act as the visitor, the user as a dict, the
project's ``meta``, the URL's path parameters, and the page URL the kernel
shows as ``app_meta().request.url`` (:data:`~notebook_host.marimo.protocol.PAGE_SCOPE_KEY`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.request import split_domain_port

from ..marimo.protocol import PAGE_SCOPE_KEY
from ..userinfo import visible_headers

#: What a socket's kernel scope keeps of the scope Channels hands the consumer.
SOCKET_KEYS = (
    "type",
    "asgi",
    "http_version",
    "scheme",
    "path",
    "raw_path",
    "query_string",
    "headers",
    "client",
    "server",
    "subprotocols",
)


def _headers(request: HttpRequest) -> list[tuple[bytes, bytes]]:
    scope = getattr(request, "scope", None)
    if scope is not None and "headers" in scope:
        return list(scope["headers"])
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
    ]


def http_scope(
    request: HttpRequest,
    *,
    root_path: str,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """An ASGI HTTP scope for marimo that shows the real URL of the request."""
    original = getattr(request, "scope", {}) or {}
    query = original.get("query_string")
    if query is None:  # not an ASGI request: Django's META holds it decoded
        query = request.META.get("QUERY_STRING", "")
    if isinstance(query, str):
        query = query.encode("utf-8")
    host, port = split_domain_port(request.get_host())
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": original.get("http_version", "1.1"),
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode("utf-8"),
        "root_path": root_path,
        "query_string": query,
        "headers": visible_headers(_headers(request)),
        "client": original.get("client") or (request.META.get("REMOTE_ADDR", ""), 0),
        "server": original.get("server") or (host, int(port or request.get_port())),
        "state": {},
    }
    scope.update(extra)
    return scope


def socket_base(scope: dict[str, Any], query_string: bytes) -> dict[str, Any]:
    """What a socket's kernel scope starts from: Channels' scope, trimmed."""
    base = {key: scope[key] for key in SOCKET_KEYS if key in scope}
    base["query_string"] = query_string
    return base


def call_base(scope: dict[str, Any], path: str) -> dict[str, Any]:
    """What a fast-path API call's kernel scope starts from: its own scope, path decoded."""
    return {**scope, "path": path, "raw_path": path.encode("utf-8")}


def kernel_scope(
    base: dict[str, Any],
    *,
    prefix: str,
    page_query: bytes,
    user: dict[str, Any] | None,
    meta: dict[str, Any],
    path_params: dict[str, Any],
) -> dict[str, Any]:
    """The scope marimo gets: ``base`` with the page prefix, the user and the page URL."""
    scope = dict(base)
    scope.update(
        root_path=prefix,
        headers=visible_headers(list(base.get("headers", ()))),
        state={},
        user=user,
        meta=meta,
        path_params=path_params,
    )
    scope[PAGE_SCOPE_KEY] = {"path": prefix + "/", "query_string": page_query}
    return scope
