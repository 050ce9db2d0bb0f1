"""The async views: a notebook page with its HTTP sub-routes, and listings."""

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

from ..admission import guards
from ..admission.access import Decision, decide
from ..admission.origin import origin_allowed
from ..marimo import files, frontend, protocol
from ..params import gate
from ..runtime import session_rows
from ..runtime.notebook_apps import apps
from ..runtime.owners import ensure_owner_cookie
from ..runtime.session_directory import SessionRecord
from ..targets.notebook import ServedNotebook, Target, locate
from ..targets.registered import registered_entries
from ..userinfo import request_meta, user_info
from ..workers.settings import enabled as workers_enabled
from .bridge import call_http, http_scope

logger = logging.getLogger(__name__)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def error_page(status: int, title: str, message: str, detail: str = "") -> HttpResponse:
    """A small HTML error page; ``detail`` is shown only with DEBUG."""
    html = render_to_string(
        "notebook_host/error.html",
        {"title": title, "message": message, "detail": detail if settings.DEBUG else ""},
    )
    return HttpResponse(html, status=status)


def not_found(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    return error_page(404, "Not found", "There is no notebook at this address.")


def redirect_to_slash(request: HttpRequest) -> HttpResponse:
    query = request.META.get("QUERY_STRING", "")
    return HttpResponseRedirect(request.path + "/" + (f"?{query}" if query else ""))


def refusal(request: HttpRequest, decision: Decision, *, is_page: bool) -> HttpResponse:
    """The answer for a request ``decide`` did not allow."""
    if decision is Decision.LOGIN:
        if is_page:
            return redirect_to_login(request.get_full_path())
        return JsonResponse({"detail": "Authentication required"}, status=401)
    if decision is Decision.FORBIDDEN:
        return JsonResponse({"detail": "Permission denied"}, status=403)
    return not_found(request)


async def serve_frontend_file(request: HttpRequest, subpath: str) -> HttpResponse:
    """marimo's public frontend files: no session, no user, no database."""
    scope = http_scope(request, root_path="", extra={"path": "/" + subpath})
    return await call_http(frontend.frontend_files(), scope, b"")


async def serve(
    request: HttpRequest, notebook: ServedNotebook, subpath: str | None, path_params: dict
) -> HttpResponse:
    """Check access, then hand the request to the notebook's marimo app."""
    first = (subpath or "").split("/", 1)[0]
    if first in protocol.PUBLIC_FILE_ROUTES:
        return await serve_frontend_file(request, subpath or "")

    user = await request.auser()
    is_page = not subpath
    decision = await decide(user, notebook, request)
    if decision is not Decision.ALLOW:
        logger.info("Refused %s to %s: %s", request.path, user, decision.value)
        return refusal(request, decision, is_page=is_page)
    if subpath is None:
        return redirect_to_slash(request)
    if not origin_allowed(request):
        logger.warning("Refused %s %s: cross-origin", request.method, request.path)
        return JsonResponse({"detail": "Cross-origin request refused"}, status=403)
    checked = gate.check_page(request, notebook) if is_page else None
    if isinstance(checked, HttpResponse):
        return checked  # invalid (400) or not canonical (redirect)

    prefix = request.path[: len(request.path) - len(subpath)].rstrip("/")
    if is_page:
        over = guards.page_over_limit(request, user)
        if over is not None:
            return over
    if workers_enabled():
        from ..workers import front  # needs channels_redis: only with KERNELS = "workers"

        if front.needs_worker(request, subpath):
            response = await front.forward(request, subpath, prefix, path_params, user)
            guards.allow_same_origin_frames(subpath, response)
            return response
    refused, session = guards.check_session_route(request, notebook, subpath)
    if refused is not None:
        return refused
    body = guards.read_body(request, subpath)
    if isinstance(body, HttpResponse):
        return body
    session_rows.touch(session.session_id if session else None)
    try:
        if not is_page and session is not None and session.app is not None:
            app = session.app  # the session may live in an app retired by an edit
            app.touch()
        else:
            app = apps.get(notebook, base_url=prefix)
    except files.NotebookMissing as exc:
        logger.warning("%s: %s", request.path, exc)
        return error_page(404, "Notebook not found", str(exc))
    except files.NotebookLoadError as exc:
        logger.error("%s: %s", request.path, exc, exc_info=exc.__cause__)
        return error_page(
            500,
            "This notebook cannot be shown",
            "The notebook failed to load; the error has been logged for the site's administrators.",
            detail=str(exc),
        )

    extra = {
        "user": await _user_info_for(user, session),
        "meta": await request_meta(request),
        "path_params": path_params,
    }
    scope = http_scope(request, root_path=prefix, extra=extra)
    scope[protocol.PAGE_SCOPE_KEY] = {
        "path": prefix + "/",
        "query_string": session.page_query if session else scope["query_string"],
    }
    response = await call_http(app, scope, body)
    if is_page:
        ensure_owner_cookie(request, response)
    guards.allow_same_origin_frames(subpath, response)
    if checked is not None:
        gate.after_page(response, request, notebook, checked, prefix)
    return response


async def _user_info_for(user: Any, session: SessionRecord | None) -> dict[str, Any]:
    """The session's user dict when the same user calls its API, else a fresh one."""
    if (
        session is not None
        and session.user_info is not None
        and session.user_id == getattr(user, "pk", None)
    ):
        return session.user_info
    return await user_info(user)


async def listing(request: HttpRequest, target: Any) -> HttpResponse:
    """The notebooks of a directory this user may open, as HTML or JSON."""
    user = await request.auser()
    base = request.path
    visible = []
    for entry in target.entries():
        if await decide(user, entry.notebook, request) is Decision.ALLOW:
            visible.append(entry)
    rows = [
        {"path": e.path, "title": e.title, "url": f"{base}{e.path}/", "section": e.section}
        for e in visible
    ]
    if not visible and not user.is_authenticated and target.access.label != "public":
        # Nothing for strangers in a folder that needs a login: ask for one.
        return refusal(request, Decision.LOGIN, is_page=not wants_json(request))
    if wants_json(request):
        return JsonResponse({"notebooks": rows})
    sections: dict[str, list[dict]] = {}
    for row in rows:
        sections.setdefault(row["section"], []).append(row)
    html = render_to_string(
        "notebook_host/listing.html",
        {"title": target.name or request.path, "sections": sections.items()},
        request=request,
    )
    return HttpResponse(html)


def notebook_view(target: Target) -> Callable[..., Awaitable[HttpResponse]]:
    """The view function one notebook URL pattern calls."""

    async def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        located = await locate(target, kwargs)
        if located is None:
            return not_found(request)
        if located.listing:
            if located.subpath is None:
                return redirect_to_slash(request)
            return await listing(request, target)
        assert located.notebook is not None
        return await serve(request, located.notebook, located.subpath, located.path_params)

    view.target = target  # type: ignore[attr-defined]
    view.__name__ = view.__qualname__ = f"notebook_view[{target!r}]"
    return csrf_exempt(view)


async def registered_listing(request: HttpRequest) -> HttpResponse:
    """``include("notebook_host.urls")``'s index: registered notebooks this user may open."""
    return await listing(request, await registered_entries())
