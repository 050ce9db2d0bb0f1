"""Where a notebook's query parameters are enforced: its page and its socket.

The kernel reads ``mo.query_params()`` from the websocket URL, so checking
the page alone would be bypassable: the socket runs the same check and the
kernel gets the cleaned, canonical query, never the raw one.

marimo's frontend (0.25.2) copies the page's query to the socket URL with
``URLSearchParams.set``, so a repeated name arrives with its last value only
(``?tags=a&tags=b`` -> ``tags=b``). For notebooks whose form has such a
field, the page answer carries its canonical queries in a signed cookie
scoped to ``<page>/ws``; the socket takes the candidate whose last values
are exactly its own, checks it again, and falls back to its own URL if none
matches. Whatever it picks, the kernel only ever sees validated values.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Protocol, cast
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string

from .. import closecodes
from ..marimo.protocol import SOCKET_ONLY_PARAMS
from .declarations import NotebookParams
from .query import Checked, Pairs, last_values, parse_query, split_marimo

logger = logging.getLogger(__name__)


class Gated(Protocol):
    """What the gate reads of a served notebook: the parameters it declares."""

    @property
    def params(self) -> NotebookParams | None: ...


#: The cookie holding a page's recent canonical queries, read by its socket.
COOKIE = "notebook_host_params"
_SALT = "notebook_host.query_gate"  # kept: cookies already issued stay valid
#: Canonical queries kept per page and how long (several tabs of one page).
KEEP = 8
MAX_COOKIE_CHARS = 3000
MAX_AGE = 24 * 3600
#: The close code of a socket refused for its parameters.
CLOSE_INVALID = closecodes.INVALID_PARAMS


class InvalidParams(Exception):
    """A socket URL's parameters fail the notebook's form."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(json.dumps(errors, sort_keys=True))
        self.errors = errors


def close_reason(exc: InvalidParams) -> str:
    """The errors as a websocket close reason: at most 123 bytes of UTF-8."""
    reason = f"invalid query parameters: {exc}".encode()[:123]
    return reason.decode("utf-8", errors="ignore")


# -- the page ----------------------------------------------------------------


@dataclass(frozen=True)
class Redirect:
    """The page's query is valid but not canonical: its canonical URL."""

    location: str


def check_query(params: NotebookParams, raw: str) -> tuple[Checked, str]:
    """(the user's parameters checked, the canonical query with marimo's own pairs)."""
    own, user = split_marimo(parse_query(raw))
    checked = params.check(user)
    return checked, urlencode([*checked.pairs, *own], doseq=True) if checked.valid else ""


def check_page_query(params: NotebookParams, raw: str, path: str) -> Checked | Redirect:
    """The page's query checked (maybe invalid), or a redirect to its canonical URL."""
    checked, canonical = check_query(params, raw)
    if checked.valid and canonical != raw and _is_fixed_point(params, checked):
        return Redirect(path + (f"?{canonical}" if canonical else ""))
    return checked


def check_page(request: HttpRequest, notebook: Gated) -> HttpResponse | Checked | None:
    """400 or a redirect to the canonical URL, else the checked query to serve.

    None when the notebook declares no parameters. (The admission check
    ``params`` runs :func:`check_page_query` and lets the view answer.)
    """
    params = notebook.params
    if params is None:
        return None
    verdict = check_page_query(params, request.META.get("QUERY_STRING", ""), request.path)
    if isinstance(verdict, Redirect):
        return HttpResponseRedirect(verdict.location)
    if not verdict.valid:
        logger.info("Invalid parameters for %s: %s", request.path, verdict.errors)
        return invalid_answer(request, verdict.errors)
    return verdict


def _is_fixed_point(params: NotebookParams, checked: Checked) -> bool:
    """True when the canonical query checks to itself, so a redirect cannot loop."""
    again = params.check(checked.pairs)
    if again.pairs != checked.pairs:
        logger.warning("%r: canonical query %r is not stable", params.source, checked.query)
        return False
    return True


def invalid_answer(request: HttpRequest, errors: dict[str, list[str]]) -> HttpResponse:
    """400 listing each field's errors: JSON if asked for, else an HTML page."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": "Invalid query parameters", "errors": errors}, status=400)
    html = render_to_string("notebook_host/invalid_params.html", {"errors": sorted(errors.items())})
    return HttpResponse(html, status=400)


def remember(response: HttpResponse, request: HttpRequest, checked: Checked, prefix: str) -> None:
    """Let the page's socket recover repeated values its URL will lose."""
    kept = [checked.query]
    for query in _cookie_queries(request.COOKIES.get(COOKIE)):
        if query not in kept:
            kept.append(query)
    kept = kept[:KEEP]
    value = signing.dumps(kept, salt=_SALT, compress=True)
    while len(value) > MAX_COOKIE_CHARS and len(kept) > 1:
        kept.pop()
        value = signing.dumps(kept, salt=_SALT, compress=True)
    if len(value) > MAX_COOKIE_CHARS:
        return  # too long for a cookie: the socket falls back to its URL
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path=prefix + "/ws",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _cookie_queries(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        queries = signing.loads(value, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return []
    if not isinstance(queries, list):
        return []
    return [q for q in queries if isinstance(q, str)]


# -- the socket --------------------------------------------------------------


def check_socket(scope: dict[str, Any], notebook: Gated) -> tuple[bytes, bytes] | None:
    """(query for marimo, page query) from the socket's scope, or None if no form.

    Raises InvalidParams when the socket's own parameters fail the form.
    """
    params = notebook.params
    if params is None:
        return None
    own, user = split_marimo(parse_query(scope.get("query_string", b"")))
    checked = params.check(user)
    if not checked.valid:
        raise InvalidParams(checked.errors)
    if params.has_multiple:
        checked = _recover(params, user, _scope_cookie(scope)) or checked
    for_marimo = urlencode([*own, *checked.pairs], doseq=True).encode("latin-1")
    page_own = [(k, v) for k, v in own if k not in SOCKET_ONLY_PARAMS]
    page = urlencode([*checked.pairs, *page_own], doseq=True).encode("latin-1")
    return for_marimo, page


def _recover(params: NotebookParams, socket_pairs: Pairs, cookie: str | None) -> Checked | None:
    """The page's canonical query whose last values are the socket's, checked again."""
    wanted = last_values(socket_pairs)
    for query in _cookie_queries(cookie):
        pairs = parse_query(query)
        if last_values(pairs) != wanted:
            continue
        checked = params.check(pairs)
        if checked.valid:
            return checked
    return None


def _scope_cookie(scope: dict[str, Any]) -> str | None:
    cookies = scope.get("cookies")
    if isinstance(cookies, dict) and COOKIE in cookies:
        return cast(str, cookies[COOKIE])
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def after_page(
    response: HttpResponse,
    request: HttpRequest,
    notebook: Gated,
    checked: Checked,
    prefix: str,
) -> None:
    """Set the socket's cookie on a served page whose form has repeated fields."""
    if response.status_code == 200 and notebook.params and notebook.params.has_multiple:
        remember(response, request, checked, prefix)
