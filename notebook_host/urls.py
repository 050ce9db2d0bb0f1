"""URL helpers: ``notebook()`` returns one ordinary URL pattern.

The pattern claims the page, its slash-less form (redirected) and the
sub-routes a marimo page uses, and nothing else, so a notebook at ``""``
never shadows the rest of the URLconf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern
from django.urls.resolvers import RoutePattern

from .access import parse_rule
from .conf import get_config
from .marimo_adapter import SUB_ROUTES
from .options import validate_options
from .registry import Notebook
from .views import SUBPATH_KWARG, notebook_view

__all__ = ["notebook"]


class NotebookRoutePattern(RoutePattern):
    """``route`` plus marimo's sub-routes below it.

    Reversing gives the page URL (``route``); matching also accepts the
    route without its slash and ``route/<marimo sub-route>``.
    """

    def __init__(self, route: str, name: str | None = None) -> None:
        super().__init__(route, name=name, is_endpoint=True)
        self._prefix = RoutePattern(route.rstrip("/"), is_endpoint=False)

    def match(self, path: str) -> tuple[str, tuple, dict[str, Any]] | None:
        matched = self._prefix.match(path)
        if matched is None:
            return None
        rest, args, kwargs = matched
        if self._route:
            if rest == "":
                return "", args, {**kwargs, SUBPATH_KWARG: None}
            if not rest.startswith("/"):
                return None
            rest = rest[1:]
        if rest and rest.split("/", 1)[0] not in SUB_ROUTES:
            return None
        return "", args, {**kwargs, SUBPATH_KWARG: rest}


def _resolve_file(file: str | Path) -> Path:
    path = Path(file)
    if not path.is_absolute():
        base = getattr(settings, "BASE_DIR", None)
        path = Path(base) / path if base else Path.cwd() / path
    return path.resolve()


def notebook(
    route: str,
    file: str | Path,
    *,
    access: Any = None,
    name: str | None = None,
    **options: Any,
) -> URLPattern:
    """Serve the marimo notebook ``file`` at ``route``.

    ``access`` is "public", "login", "staff", "superuser", a permission
    "app_label.codename" or a callable ``(user, notebook) -> bool``; it
    defaults to ``NOTEBOOK_HOST["DEFAULT_ACCESS"]``. ``options`` override the
    per-notebook defaults of ``NOTEBOOK_HOST`` (include_code, session_ttl, ...).
    """
    where = f"notebook({route!r}, {str(file)!r})"
    if route.startswith("/"):
        raise ImproperlyConfigured(f"{where}: route must not start with '/'.")
    if route and not route.endswith("/"):
        route += "/"
    rule = parse_rule(get_config()["DEFAULT_ACCESS"] if access is None else access, where=where)
    validate_options(where, options)
    spec = Notebook(file=_resolve_file(file), access=rule, name=name, route=route, options=options)
    return URLPattern(NotebookRoutePattern(route, name=name), notebook_view(spec), name=name)
