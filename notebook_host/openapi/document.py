"""An OpenAPI 3.1 document of the notebook routes, built from the URLconf.

The URLconf is the one map of notebooks, so the document walks it: every
``notebook()`` pattern, and every notebook a ``notebook_directory()`` serves
right now, with its access rule and its query parameters (type, bounds,
choices, default, help text). Served at ``openapi.json`` by
``notebook_host.urls`` (filtered to what the requesting user may open) and
printed in full by ``manage.py notebook_routes --json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from asgiref.sync import async_to_sync, sync_to_async
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from .. import __version__
from ..marimo import files
from ..targets.access import Decision, decide
from ..targets.folder import NotebookFolder
from ..targets.notebook import ServedNotebook
from ..targets.registered import SLUG_KWARG, RegisteredNotebooks, registered_entries

OPENAPI_VERSION = "3.1.0"

_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
    "uuid": {"type": "string", "format": "uuid"},
    "str": {"type": "string"},
}
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass
class Route:
    """One notebook page (or directory listing) and what serves it."""

    path: str  # OpenAPI form: "/items/{item}/"
    converters: dict[str, str]
    notebook: ServedNotebook | None
    directory: NotebookFolder | None = None
    title: str = ""


def _route_text(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        return str(pattern._route)
    if isinstance(pattern, RegexPattern):
        # Best effort for re_path() prefixes: drop anchors, keep the text.
        return cast(str, pattern._regex.lstrip("^").rstrip("$"))
    return str(pattern)


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + _route_text(entry.pattern))
        elif isinstance(entry, URLPattern):
            target = getattr(entry.callback, "target", None)
            if target is not None:
                yield prefix + _route_text(entry.pattern), target


def routes(urlconf: str | None = None) -> list[Route]:
    """Every notebook route of the URLconf, in URLconf order."""
    found: list[Route] = []
    for route, target in _walk(get_resolver(urlconf).url_patterns, ""):
        converters = {m["name"]: m["converter"] or "str" for m in _PARAM.finditer(route)}
        path = "/" + _PARAM.sub(lambda m: "{" + m["name"] + "}", route)
        if isinstance(target, ServedNotebook):
            found.append(Route(path, converters, target, title=_title(target)))
        elif isinstance(target, NotebookFolder):
            found.append(Route(path, converters, None, directory=target, title=target.name or ""))
            for entry in target.entries():
                found.append(
                    Route(f"{path}{entry.path}/", converters, entry.notebook, title=entry.title)
                )
        elif isinstance(target, RegisteredNotebooks):
            # One route per enabled row: "<prefix>/{slug}/" becomes "<prefix>/<slug>/".
            base = path.split("{" + SLUG_KWARG + "}", 1)[0]
            outer = {k: v for k, v in converters.items() if k != SLUG_KWARG}
            for entry in async_to_sync(registered_entries)().entries():
                found.append(
                    Route(f"{base}{entry.path}/", outer, entry.notebook, title=entry.title)
                )
    return found


def _title(notebook: ServedNotebook) -> str:
    """The notebook's app_title, else its file name (a missing file is listed too)."""
    try:
        return files.check_notebook_file(notebook.file).title
    except files.NotebookLoadError:
        return notebook.name or notebook.file.stem


def _access_label(route: Route) -> str:
    rule = route.notebook.access if route.notebook else route.directory.access  # type: ignore[union-attr]
    return rule.label


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    access = _access_label(route)
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": dict(_CONVERTER_SCHEMAS.get(converter, {"type": "string"})),
        }
        for name, converter in route.converters.items()
    ]
    responses: dict[str, Any] = {
        "200": {"description": "The notebook page (HTML).", "content": {"text/html": {}}},
        "404": {"description": "No such notebook, or hidden from this user."},
    }
    if access != "public":
        responses["302"] = {"description": "To the login page, for an anonymous visitor."}
    operation: dict[str, Any] = {
        "summary": route.title or route.path,
        "x-notebook-access": access,
    }
    if route.directory is not None:
        operation["description"] = f"Lists the notebooks of this folder (access: {access})."
        operation["responses"] = {
            "200": {
                "description": "The listing, HTML or JSON (Accept: application/json).",
                "content": {"text/html": {}, "application/json": {}},
            },
        }
        if access != "public":
            operation["responses"]["302"] = responses["302"]
    else:
        assert route.notebook is not None
        params = route.notebook.params
        operation["description"] = (
            f"The marimo notebook {route.notebook.relative_path} (access: {access})."
        )
        if params is not None:
            parameters.extend(params.schemas())
            components.update(params.adapter.components())
            operation["x-unknown-params"] = params.unknown
            responses["302"] = {
                "description": "To the canonical URL (defaults filled in), or to the login page."
            }
            responses["400"] = {
                "description": "Invalid query parameters: each field's errors.",
                "content": {
                    "text/html": {},
                    "application/json": {"schema": {"$ref": "#/components/schemas/ParamErrors"}},
                },
            }
        operation["responses"] = responses
    if parameters:
        operation["parameters"] = parameters
    return operation


_PARAM_ERRORS = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "errors"],
}


def document(found: list[Route] | None = None, *, title: str = "Notebooks") -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``found`` (default: every notebook route)."""
    found = routes() if found is None else found
    components: dict[str, Any] = {"ParamErrors": _PARAM_ERRORS}
    paths: dict[str, Any] = {}
    for route in found:
        paths.setdefault(route.path, {})["get"] = _operation(route, components)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {"schemas": components},
    }


async def visible_routes(request: HttpRequest) -> list[Route]:
    """The routes whose notebook this request's user may open.

    A directory's listing is shown when one of its notebooks is.
    """
    user = await request.auser()
    found = await sync_to_async(routes)()
    shown: list[Route] = []
    listings: dict[int, Route] = {}
    for route in found:
        if route.directory is not None:
            listings[id(route.directory)] = route
            continue
        assert route.notebook is not None
        if await decide(user, route.notebook, request) is not Decision.ALLOW:
            continue
        directory = next(
            (
                r
                for r in listings.values()
                if r.path != route.path and route.path.startswith(r.path)
            ),
            None,
        )
        if directory is not None and directory not in shown:
            shown.append(directory)
        shown.append(route)
    return shown


async def openapi_view(request: HttpRequest) -> JsonResponse:
    """The OpenAPI document of the notebooks the requesting user may open."""
    return JsonResponse(document(await visible_routes(request)))
