"""marimo's start-up work, done by hand, and our patches of its internals.

daphne runs no ASGI lifespan (pitfall 3 in docs/architecture.md),
so :func:`initialise` does what marimo's lifespan would: mimetypes and the
asyncio policy. It also applies the patches below, each idempotent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from typing import Any
from urllib.parse import parse_qs

from marimo._runtime.commands import HTTPRequest
from marimo._server.tokens import SkewProtectionToken
from marimo._server.utils import initialize_asyncio, initialize_mimetypes

from .protocol import PAGE_SCOPE_KEY

logger = logging.getLogger(__name__)

_init_lock = threading.Lock()
_initialised = False


def initialise() -> None:
    """Do what marimo's lifespan would do; daphne runs no ASGI lifespan."""
    global _initialised
    with _init_lock:
        if _initialised:
            return
        initialize_mimetypes()
        show_page_url_to_kernel()
        deterministic_skew_token()
        try:
            initialize_asyncio()
        except RuntimeError:  # pragma: no cover - a loop policy is already set
            logger.debug("asyncio already initialised")
        _initialised = True


def show_page_url_to_kernel() -> None:
    """Make ``app_meta().request.url`` the page's URL on socket and API alike.

    marimo builds the kernel's request from whatever connection carried it,
    so cells would see ``/page/ws?session_id=..`` on load and
    ``/page/api/kernel/set_ui_element_value`` after a click. For scopes we
    mark with PAGE_SCOPE_KEY the url and query are those of the page.
    """
    original = HTTPRequest.from_request
    if getattr(original, "_notebook_host", False):
        return

    def from_request(request: Any) -> HTTPRequest:
        result = original(request)
        page = request.scope.get(PAGE_SCOPE_KEY)
        if not page:
            return result
        query = page["query_string"].decode("latin-1")
        url = {**result.url, "path": page["path"], "query": query}
        params = {k: list(v) for k, v in parse_qs(query, keep_blank_values=True).items()}
        return dataclasses.replace(result, url=url, query_params=params)

    from_request._notebook_host = True  # type: ignore[attr-defined]
    HTTPRequest.from_request = staticmethod(from_request)  # type: ignore[method-assign]


def skew_token(code: str) -> str:
    """The skew-protection token of a notebook's code, the same in every process."""
    return hashlib.sha256(b"skew:" + code.encode("utf-8")).hexdigest()


def deterministic_skew_token() -> None:
    """Derive marimo's skew token from a real hash of the notebook's code.

    marimo 0.25.2 uses ``str(hash("skew:" + code))`` (``_server/tokens.py``),
    random per process (PYTHONHASHSEED), so a page from one daphne and a
    POST to another would be refused. With kernels in workers, every process
    must agree.
    """
    if getattr(SkewProtectionToken.from_code, "_notebook_host", False):
        return

    def from_code(code: str) -> SkewProtectionToken:
        return SkewProtectionToken(skew_token(code))

    from_code._notebook_host = True  # type: ignore[attr-defined]
    SkewProtectionToken.from_code = staticmethod(from_code)  # type: ignore[method-assign]
