"""The async views: a notebook page with its HTTP sub-routes, and listings.

The notebook view asks the admission pipeline (:func:`notebook_host.admission.pipeline.admit`),
turns a refusal into an HTTP answer (:func:`answer`), and hands what was
admitted to the notebook's marimo app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

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

from ..admission.arrival import Arrival, Kind
from ..admission.limits import OverLimit
from ..admission.pipeline import admit
from ..admission.refusals import Reason, Refused
from ..admission.scope import http_scope
from ..backends import kernels, opening
from ..marimo import frontend, routes
from ..metrics import record as metrics
from ..params import gate
from ..runtime import replay
from ..runtime.owners import ensure_owner_cookie
from ..targets.access import Decision, decide
from ..targets.notebook import ServedNotebook, Target, locate
from ..targets.registered import registered_entries
from . import embedding, viewer_notices
from .bridge import call_http, edit_html

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


def over_limit(request: HttpRequest, over: OverLimit) -> HttpResponse:
    """429 with Retry-After; the HTML page tries again by itself when the wait is over."""
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"detail": over.message, "retry_after": over.retry_after}, status=429
        )
    else:
        html = render_to_string(
            "notebook_host/error.html",
            {
                "title": "Too many open sessions",
                "message": over.message,
                "detail": "",
                "refresh": over.retry_after,
            },
        )
        response = HttpResponse(html, status=429)
    response["Retry-After"] = str(over.retry_after)
    response["Cache-Control"] = "no-store"
    return response


def login_needed(request: HttpRequest, *, is_page: bool) -> HttpResponse:
    """A page sends the visitor to the login page; anything else answers 401."""
    if is_page:
        return redirect_to_login(request.get_full_path())
    return JsonResponse({"detail": "Authentication required"}, status=401)


def answer(request: HttpRequest, refused: Refused, kind: Kind) -> HttpResponse:
    """The HTTP answer to a refusal of an admission check (status and sentence: its reason's)."""
    reason = refused.reason
    if reason is Reason.LOGIN:
        return login_needed(request, is_page=kind is Kind.PAGE)
    if reason is Reason.ADD_SLASH:
        return redirect_to_slash(request)
    if reason is Reason.NOT_CANONICAL:
        assert refused.location is not None
        return HttpResponseRedirect(refused.location)
    if reason is Reason.INVALID_PARAMS:
        return gate.invalid_answer(request, refused.errors or {})
    if reason is Reason.OVER_LIMIT:
        assert refused.over is not None
        metrics.session_refused("over_limit")
        return over_limit(request, refused.over)
    if reason is Reason.NOTEBOOK_MISSING:
        return error_page(refused.status, reason.sentence, refused.detail)
    if reason is Reason.LOAD_ERROR:
        return error_page(
            refused.status,
            reason.sentence,
            "The notebook failed to load; the error has been logged for the site's administrators.",
            detail=refused.detail,
        )
    if reason in _JSON_ANSWERS:
        return JsonResponse({"detail": refused.sentence}, status=refused.status)
    return not_found(request)


#: Refusals answered with their status and a JSON ``detail`` (the reason's sentence).
_JSON_ANSWERS = frozenset(
    {Reason.FORBIDDEN, Reason.BAD_ORIGIN, Reason.NOT_OWNER, Reason.BODY_TOO_LARGE, Reason.BAD_BODY}
)


async def serve_frontend_file(request: HttpRequest, subpath: str) -> HttpResponse:
    """marimo's public frontend files: no session, no user, no database."""
    scope = http_scope(request, root_path="", extra={"path": "/" + subpath})
    return await call_http(frontend.frontend_files(), scope, b"")


async def serve(
    request: HttpRequest,
    notebook: ServedNotebook,
    subpath: str | None,
    path_params: dict[str, Any],
    embed: embedding.EmbedMode | None = None,
) -> HttpResponse:
    """Admit the request (admission.pipeline), then hand it to the notebook's marimo app."""
    if routes.route_of(subpath or "") is routes.Route.FRONTEND_FILE:
        return await serve_frontend_file(request, subpath or "")
    arrival = await Arrival.from_request(request, notebook, subpath, path_params)
    forwarded = await kernels().forward(request, arrival)  # a kernel elsewhere answers
    if isinstance(forwarded, Refused):
        return answer(request, forwarded, arrival.kind)
    if forwarded is not None:
        return forwarded
    admitted = await admit(arrival)
    if isinstance(admitted, Refused):
        return answer(request, admitted, arrival.kind)
    assert admitted.app is not None and admitted.scope is not None
    opening.note_call(admitted)
    if admitted.record is not None:
        metrics.change_posted(admitted.record.session_id, request.path)
    if arrival.kind is Kind.API and admitted.record is not None:
        replay.remember(admitted.record, subpath or "", admitted.body)
    response = await call_http(admitted.app, admitted.scope, admitted.body)
    if arrival.kind is Kind.PAGE:
        code_shown, name = admitted.app.shows_code, admitted.app.path.name
        edit_html(
            response,
            lambda html: frontend.hide_server_paths(
                frontend.trim_page(html, code_shown=code_shown), name
            ),
        )
        ensure_owner_cookie(request, response)
        if admitted.checked is not None:
            gate.after_page(response, request, notebook, admitted.checked, admitted.prefix)
        embedding.inject(response, embed)
        viewer_notices.inject(response, notebook)
    return response


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
        return login_needed(request, is_page=not wants_json(request))
    if wants_json(request):
        return JsonResponse({"notebooks": rows})
    sections: dict[str, list[dict[str, Any]]] = {}
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
        # Off the query before the pipeline reads it: params, marimo, the kernel.
        embed = embedding.take_marker(request)
        response = await located_answer(request, kwargs, embed)
        embedding.keep_marker(request, response, embed)
        # Every answer of a notebook route (downloads framed by mo.iframe
        # included) may be framed by the site and FRAME_ANCESTORS, whatever
        # X_FRAME_OPTIONS says for the site's other pages.
        embedding.allow_framing(response)
        return response

    async def located_answer(
        request: HttpRequest, kwargs: dict[str, Any], embed: embedding.EmbedMode | None
    ) -> HttpResponse:
        located = await locate(target, kwargs)
        if located is None:
            return not_found(request)
        if located.listing:
            if located.subpath is None:
                return redirect_to_slash(request)
            return await listing(request, target)
        assert located.notebook is not None
        return await serve(request, located.notebook, located.subpath, located.path_params, embed)

    view.target = target  # type: ignore[attr-defined]
    view.__name__ = view.__qualname__ = f"notebook_view[{target!r}]"
    return cast("Callable[..., Awaitable[Any]]", csrf_exempt(view))


async def registered_listing(request: HttpRequest) -> HttpResponse:
    """``include("notebook_host.urls")``'s index: registered notebooks this user may open."""
    return await listing(request, await registered_entries())
