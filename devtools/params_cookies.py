"""A served notebook with the tests' form, and the page cookie and socket scope a browser sends.

The query-gate unit tests and ``python -m bench.params_check`` build their
requests with these.
"""

from __future__ import annotations

from pathlib import Path

from django.http import HttpResponse
from django.test import RequestFactory

from devtools.params_forms import ItemFilter
from notebook_host.params.declarations import NotebookParams
from notebook_host.params.gate import COOKIE, remember
from notebook_host.targets.access import AccessRule
from notebook_host.targets.notebook import ServedNotebook


def notebook(source=ItemFilter, **kwargs) -> ServedNotebook:
    params = NotebookParams(source, **kwargs) if source else None
    return ServedNotebook(file=Path("items.py"), access=AccessRule("public"), params=params)


def socket_scope(query: str, cookie: str | None = None) -> dict:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return {"query_string": query.encode(), "headers": headers}


def page_cookie(*queries: str) -> str:
    """The cookie value a browser holds after loading the pages ``queries``."""
    value = None
    for query in queries:
        request = RequestFactory().get("/items/?" + query)
        if value:
            request.COOKIES[COOKIE] = value
        response = HttpResponse()
        remember(response, request, NotebookParams(ItemFilter).check([]), "/items")
        checked = NotebookParams(ItemFilter).check([tuple(p.split("=")) for p in query.split("&")])
        remember(response, request, checked, "/items")
        value = response.cookies[COOKIE].value
        assert response.cookies[COOKIE]["path"] == "/items/ws"
    assert value is not None
    return value
