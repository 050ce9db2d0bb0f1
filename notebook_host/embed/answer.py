"""What the notebook page would answer this visitor: the tag asks it as the page would."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from asgiref.sync import async_to_sync
from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.shortcuts import resolve_url
from django.urls import Resolver404, get_script_prefix, resolve, reverse

from ..admission.pipeline import acheck_page
from ..admission.refusals import Reason, Refused
from ..marimo.files import NotebookLoadError, check_notebook_file
from ..params.query import Pairs, split_marimo
from ..targets.notebook import ServedNotebook, locate
from .options import EmbedConfigError


def login_link(request: HttpRequest) -> str:
    """LOGIN_URL with ``next`` = the host page, as Django's redirect_to_login builds it."""
    parts = urlsplit(resolve_url(settings.LOGIN_URL))
    query = QueryDict(parts.query, mutable=True)
    query["next"] = request.get_full_path()
    return cast(str, urlunsplit(parts._replace(query=query.urlencode(safe="/"))))


def page_path(target: str, kwargs: dict[str, Any]) -> str:
    """The notebook page's URL path: an absolute path as given, else ``reverse()``."""
    if not isinstance(target, str) or not target:
        raise EmbedConfigError(f"{{% notebook %}}: {target!r} is not a URL name or path.")
    if target.startswith("/"):
        if kwargs:
            raise EmbedConfigError(
                f"{{% notebook {target!r} %}}: a path takes no URL arguments "
                f"({', '.join(sorted(kwargs))}); pass query=... for the query."
            )
        if "?" in target or "#" in target:
            raise EmbedConfigError(
                f"{{% notebook {target!r} %}}: give the query as query=..., not in the path."
            )
        return target
    return cast(str, reverse(target, kwargs=kwargs))  # NoReverseMatch names the target


def notebook_title(notebook: ServedNotebook) -> str:
    try:
        return check_notebook_file(notebook.file).title
    except NotebookLoadError:
        return notebook.file.stem.replace("_", " ")


class Verdict(enum.Enum):
    """What the tag renders for a notebook page, from the pipeline's answer."""

    FRAME = "frame"
    LOGIN = "login"
    DENIED = "denied"
    INVALID = "invalid"


#: Refusals of the page that the frame shows itself: over a session limit,
#: the page explains and retries on its own.
FRAMED_REFUSALS = frozenset({Reason.OVER_LIMIT})


@dataclass
class PageAnswer:
    """What the notebook page would answer, as the tag needs it."""

    verdict: Verdict
    notebook: ServedNotebook | None = None
    #: The canonical query the frame opens with (FRAME).
    pairs: Pairs = field(default_factory=list)
    #: ``{field: [messages]}`` (INVALID).
    errors: dict[str, list[str]] = field(default_factory=dict)


async def admit(request: HttpRequest, path: str, pairs: Pairs) -> PageAnswer:
    """What the notebook page at ``path`` would answer this user and query.

    The notebook is found through the URLconf as the page finds it; the
    admission pipeline's :func:`~notebook_host.admission.pipeline.acheck_page`
    decides as the page would (access, then params, then limits).
    """
    prefix = get_script_prefix()
    path_info = "/" + path[len(prefix) :] if path.startswith(prefix) else path
    try:
        match = resolve(path_info)
    except Resolver404 as exc:
        raise EmbedConfigError(f"{{% notebook %}}: no URL pattern serves {path!r}.") from exc
    target = getattr(match.func, "target", None)
    if target is None:
        raise EmbedConfigError(f"{{% notebook %}}: {path!r} is not a notebook page.")
    located = await locate(target, match.kwargs)
    if located is not None and located.listing:
        raise EmbedConfigError(f"{{% notebook %}}: {path!r} is a folder listing, not a notebook.")
    if located is None or located.notebook is None:
        return PageAnswer(Verdict.DENIED)  # e.g. a registered notebook now disabled
    notebook = located.notebook
    answer = await acheck_page(request, notebook, urlencode(pairs, doseq=True))
    if isinstance(answer, Refused) and answer.reason not in FRAMED_REFUSALS:
        if answer.reason is Reason.LOGIN:
            return PageAnswer(Verdict.LOGIN, notebook)
        if answer.reason is Reason.INVALID_PARAMS:
            return PageAnswer(Verdict.INVALID, notebook, errors=answer.errors or {})
        return PageAnswer(Verdict.DENIED, notebook)
    checked = None if isinstance(answer, Refused) else answer.checked
    if checked is None or not checked.valid:
        return PageAnswer(Verdict.FRAME, notebook, pairs)
    own, _ = split_marimo(pairs)
    return PageAnswer(Verdict.FRAME, notebook, [*checked.pairs, *own])


def decide(request: HttpRequest, path: str, pairs: Pairs) -> PageAnswer:
    """:func:`admit` from a template rendered in sync code (it queries the database)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(admit)(request, path, pairs)
    raise EmbedConfigError(
        "{% notebook %} decides access with the database: render its template from a "
        "sync view, or wrap the rendering in sync_to_async, not on the event loop."
    )
