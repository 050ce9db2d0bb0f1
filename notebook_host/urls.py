"""URL helpers: ``notebook()`` returns one ordinary URL pattern.

The pattern claims the page, its slash-less form (redirected) and the
sub-routes a marimo page uses, and nothing else, so a notebook at ``""``
never shadows the rest of the URLconf.

``include("notebook_host.urls")`` serves the notebooks registered in the
admin: ``<prefix>/`` lists them, ``<prefix>/<slug>/`` serves one. Fixed
routes go before the slug pattern; their names are reserved slugs.
"""

from __future__ import annotations

import os
import weakref
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, get_urlconf, path
from django.urls.resolvers import RoutePattern

from .conf import get_config, validate_options
from .health import health, live, ready
from .marimo import routes
from .metrics.view import metrics_view
from .openapi.document import openapi_view
from .params.declarations import DEFAULT_UNKNOWN, directory_params, notebook_params
from .targets.access import parse_rule
from .targets.folder import RELPATH_KWARG, NotebookFolder
from .targets.notebook import SUBPATH_KWARG, ServedNotebook
from .targets.registered import SLUG_KWARG, RegisteredNotebooks
from .transports.view import notebook_view, registered_listing

__all__ = ["notebook", "notebook_directory", "urlpatterns"]


class _PrefixPattern(RoutePattern):
    """Reverses to ``route``; matches ``route`` as a prefix of the path."""

    def __init__(self, route: str, name: str | None = None) -> None:
        super().__init__(route, name=name, is_endpoint=True)
        self._prefix = RoutePattern(route.rstrip("/"), is_endpoint=False)

    def _below(self, path: str) -> tuple[str | None, tuple[Any, ...], dict[str, Any]] | None:
        """What follows ``route``: None without the trailing slash, else the rest."""
        matched = self._prefix.match(path)
        if matched is None:
            return None
        rest, args, kwargs = matched
        if not self._route:  # the root route: Django paths have no leading slash
            return rest, args, kwargs
        if rest == "":
            return None, args, kwargs
        if not rest.startswith("/"):
            return None  # "dashboardx" is not below "dashboard/"
        return rest[1:], args, kwargs


#: True while a root notebook asks the other patterns whether they serve a
#: path: root notebooks then claim no sub-route, so only the others answer.
_deferring: ContextVar[bool] = ContextVar("notebook_host_deferring", default=False)


def _empty_prefix(resolver: URLResolver) -> bool:
    return str(resolver.pattern) in ("", "^")


def _siblings(patterns: list[Any], pattern: Any) -> list[Any] | None:
    """The widest list around ``pattern`` that sees the same path as it does.

    That is the list holding it, widened through ``include()``s whose own
    prefix is empty (``path("", include(...))``); None if it is not there.
    """
    for entry in patterns:
        if isinstance(entry, URLPattern) and entry.pattern is pattern:
            return patterns
        if isinstance(entry, URLResolver):
            inner = _siblings(entry.url_patterns, pattern)
            if inner is not None:
                return patterns if _empty_prefix(entry) else inner
    return None


class NotebookRoutePattern(_PrefixPattern):
    """``route`` plus marimo's sub-routes below it.

    Reversing gives the page URL (``route``); matching also accepts the
    route without its slash and ``route/<marimo sub-route>``. A root
    notebook (``""``) gives a sub-route up to any other pattern that serves
    it (``api/items/``, ``logo.png``), wherever that pattern is listed.
    """

    def __init__(self, route: str, name: str | None = None) -> None:
        super().__init__(route, name=name)
        self._scopes: weakref.WeakKeyDictionary[URLResolver, list[Any]] = (
            weakref.WeakKeyDictionary()
        )

    def match(self, path: str) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
        below = self._below(path)
        if below is None:
            return None
        rest, args, kwargs = below
        if rest and not routes.claimed(rest):
            return None
        if rest and not self._route and self._served_elsewhere(path):
            return None
        return "", args, {**kwargs, SUBPATH_KWARG: rest}

    def _served_elsewhere(self, path: str) -> bool:
        """Whether another pattern of this URLconf serves ``path``."""
        if _deferring.get():
            return True
        resolver = get_resolver(get_urlconf())
        scope = self._scopes.get(resolver)
        if scope is None:
            scope = self._scopes[resolver] = _siblings(resolver.url_patterns, self) or []
        token = _deferring.set(True)
        try:
            for entry in scope:
                if isinstance(entry, URLPattern) and entry.pattern is self:
                    continue
                try:
                    if entry.resolve(path) is not None:
                        return True
                except Resolver404:
                    continue
            return False
        finally:
            _deferring.reset(token)


class DirectoryRoutePattern(_PrefixPattern):
    """``route`` and everything below it; reversing gives the listing URL."""

    def match(self, path: str) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
        below = self._below(path)
        if below is None:
            return None
        rest, args, kwargs = below
        return "", args, {**kwargs, RELPATH_KWARG: rest}


def _check_route(route: str, where: str) -> None:
    if route.startswith("/"):
        raise ImproperlyConfigured(f"{where}: route must not start with '/'.")
    if "<path:" in route:
        raise ImproperlyConfigured(
            f"{where}: a <path:> converter would swallow the notebook's own sub-routes; "
            "use <str:> or <slug:> segments."
        )


def _absolute(file: str | Path) -> Path:
    """``file`` made absolute against settings.BASE_DIR (else the cwd), normalised."""
    path = Path(file)
    if not path.is_absolute():
        base = getattr(settings, "BASE_DIR", None)
        path = Path(base) / path if base else Path.cwd() / path
    return Path(os.path.normpath(path))


def notebook(
    route: str,
    file: str | Path,
    *,
    access: Any = None,
    name: str | None = None,
    params: Any = None,
    unknown_params: str = DEFAULT_UNKNOWN,
    **options: Any,
) -> URLPattern:
    """Serve the marimo notebook ``file`` at ``route``.

    ``access`` is "public", "login", "staff", "superuser", a permission
    "app_label.codename" or a callable ``(user, notebook) -> bool``; it
    defaults to ``NOTEBOOK_HOST["DEFAULT_ACCESS"]``. ``params`` is a form or
    Pydantic model class (or a dotted path to one) the query must pass;
    ``unknown_params`` ("reject", "drop", "pass") handles undeclared names.
    ``options`` override the per-notebook defaults of ``NOTEBOOK_HOST``
    (include_code, session_ttl, ...).
    """
    where = f"notebook({route!r}, {str(file)!r})"
    _check_route(route, where)
    if route and not route.endswith("/"):
        route += "/"
    rule = parse_rule(get_config()["DEFAULT_ACCESS"] if access is None else access, where=where)
    validate_options(where, options)
    spec = ServedNotebook(
        file=_absolute(file).resolve(),
        access=rule,
        name=name,
        route=route,
        options=options,
        params=notebook_params(params, unknown_params, where),
    )
    return URLPattern(NotebookRoutePattern(route, name=name), notebook_view(spec), name=name)


def notebook_directory(
    route: str,
    directory: str | Path,
    *,
    access: Any = None,
    validate: Any = None,
    name: str | None = None,
    params: Any = None,
    unknown_params: str = DEFAULT_UNKNOWN,
    **options: Any,
) -> URLPattern:
    """Serve every marimo notebook below ``directory`` at ``route<path>/``, live.

    ``apps/reports/q3/`` serves ``reports/q3.py``; ``route`` itself lists the
    notebooks the user may open. ``validate(request_or_scope, relative_path)``
    (sync or async) runs with ``access`` on every request: False answers
    404, PermissionDenied 403. ``params`` is one declaration for every
    notebook, ``{glob: declaration}`` matched on the relative path
    (``"sales/*.py"``) or ``relative_path -> declaration or None``. Options
    are those of :func:`notebook`.
    """
    where = f"notebook_directory({route!r}, {str(directory)!r})"
    if not route or route == "/":
        raise ImproperlyConfigured(f"{where}: route must not be empty; use e.g. 'apps/'.")
    _check_route(route, where)
    if not route.endswith("/"):
        route += "/"
    if validate is not None and not callable(validate):
        raise ImproperlyConfigured(f"{where}: validate must be callable, got {validate!r}.")
    rule = parse_rule(get_config()["DEFAULT_ACCESS"] if access is None else access, where=where)
    validate_options(where, options)
    target = NotebookFolder(
        # Not resolved: a symlinked folder is followed anew on each request.
        _absolute(directory),
        route=route,
        access=rule,
        validate=validate,
        options=options,
        name=name,
        params=directory_params(params, unknown_params, where),
    )
    return URLPattern(DirectoryRoutePattern(route, name=name), notebook_view(target), name=name)


app_name = "notebook_host"

#: The registered notebooks' target (one per process; rows are looked up per request).
registered_notebooks = RegisteredNotebooks()

#: ``path("notebooks/", include("notebook_host.urls"))`` mounts these: the
#: OpenAPI document of the notebook routes, the health endpoints, and the
#: notebooks registered in the admin with their listing.
urlpatterns = [
    # Fixed routes first (their slugs are reserved in registered.RESERVED_SLUGS).
    path("openapi.json", openapi_view, name="openapi"),
    path("health/", health, name="health"),
    path("health/live/", live, name="health-live"),
    path("health/ready/", ready, name="health-ready"),
    path("metrics/", metrics_view, name="metrics"),
    URLPattern(RoutePattern("", name="index", is_endpoint=True), registered_listing, name="index"),
    URLPattern(
        NotebookRoutePattern(f"<slug:{SLUG_KWARG}>/", name="notebook"),
        notebook_view(registered_notebooks),
        name="notebook",
    ),
]
