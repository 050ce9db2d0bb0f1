"""The async view that serves a notebook page and every HTTP sub-route."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt

from . import marimo_adapter
from .access import Decision, decide
from .asgi_bridge import call_http, http_scope
from .origin import origin_allowed
from .registry import Notebook, apps
from .sessions import directory
from .userinfo import request_meta, user_info

logger = logging.getLogger(__name__)

#: URL kwarg carrying the part of the path below the notebook's own URL.
SUBPATH_KWARG = "marimo_subpath"


def error_page(status: int, title: str, message: str, detail: str = "") -> HttpResponse:
    """A small HTML error page; ``detail`` is shown only with DEBUG."""
    html = render_to_string(
        "notebook_host/error.html",
        {"title": title, "message": message, "detail": detail if settings.DEBUG else ""},
    )
    return HttpResponse(html, status=status)


def not_found(request: HttpRequest) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": "Not Found"}, status=404)
    return error_page(404, "Not found", "There is no notebook at this address.")


async def serve_frontend_file(request: HttpRequest, subpath: str) -> HttpResponse:
    """marimo's public frontend files: no session, no user, no database."""
    scope = http_scope(request, root_path="", extra={"path": "/" + subpath})
    return await call_http(marimo_adapter.frontend_files(), scope, b"")


async def serve(
    request: HttpRequest, notebook: Notebook, subpath: str | None, path_params: dict
) -> HttpResponse:
    """Check access, then hand the request to the notebook's marimo app."""
    first = (subpath or "").split("/", 1)[0]
    if first in marimo_adapter.PUBLIC_FILE_ROUTES:
        return await serve_frontend_file(request, subpath or "")

    user = await request.auser()
    decision = await decide(user, notebook)
    is_page = not subpath
    if decision is Decision.LOGIN:
        if is_page:
            return redirect_to_login(request.get_full_path())
        return JsonResponse({"detail": "Authentication required"}, status=401)
    if decision is Decision.NOT_FOUND:
        logger.info("Denied %s to %s", request.path, user)
        return not_found(request)

    if subpath is None:
        query = request.META.get("QUERY_STRING", "")
        return HttpResponseRedirect(request.path + "/" + (f"?{query}" if query else ""))

    if not origin_allowed(request):
        logger.warning("Refused %s %s: cross-origin", request.method, request.path)
        return JsonResponse({"detail": "Cross-origin request refused"}, status=403)

    prefix = request.path[: len(request.path) - len(subpath)].rstrip("/")
    try:
        if is_page and not notebook.file.is_file():
            raise marimo_adapter.NotebookMissing(f"Notebook file not found: {notebook.file.name}")
        app = apps.get(notebook, base_url=prefix)
    except marimo_adapter.NotebookMissing as exc:
        logger.warning("%s: %s", request.path, exc)
        return error_page(404, "Notebook not found", str(exc))
    except marimo_adapter.NotebookLoadError as exc:
        logger.error("%s: %s", request.path, exc, exc_info=exc.__cause__)
        return error_page(
            500,
            "This notebook cannot be shown",
            "The notebook failed to load. The site's administrators have been told.",
            detail=str(exc),
        )

    extra = {
        "user": await user_info(user),
        "meta": await request_meta(request),
        "path_params": path_params,
    }
    scope = http_scope(request, root_path=prefix, extra=extra)
    session = directory.get(request.headers.get("Marimo-Session-Id"), notebook)
    scope[marimo_adapter.PAGE_SCOPE_KEY] = {
        "path": prefix + "/",
        "query_string": session.page_query if session else scope["query_string"],
    }
    return await call_http(app, scope, request.body)


def notebook_view(notebook: Notebook) -> Callable[..., Awaitable[HttpResponse]]:
    """The view function one notebook URL pattern calls."""

    async def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        subpath = kwargs.pop(SUBPATH_KWARG, None)
        return await serve(request, notebook, subpath, kwargs)

    view.notebook = notebook  # type: ignore[attr-defined]
    view.__name__ = view.__qualname__ = f"notebook_view[{notebook.file.name}]"
    return csrf_exempt(view)
