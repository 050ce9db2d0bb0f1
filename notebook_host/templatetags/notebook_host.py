"""``{% notebook %}``: a notebook page framed in a Django template.

The tag asks the same questions the page itself would (which notebook, may
this user open it, does this query pass its ``params=``) and renders the
answer: a frame, a sign-in link, a placeholder listing invalid parameters,
or nothing, so existence is never revealed to those who may not open it.
See docs/embedding.md.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from asgiref.sync import async_to_sync
from django import template
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, QueryDict
from django.shortcuts import resolve_url
from django.template.base import FilterExpression, Parser, Token, Variable, token_kwargs
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse
from django.utils.safestring import SafeString, mark_safe

from ..admission.pipeline import acheck_page
from ..admission.refusals import Reason, Refused
from ..conf import get_config
from ..marimo.files import NotebookLoadError, check_notebook_file
from ..params.query import Pairs, split_marimo
from ..targets.notebook import ServedNotebook, locate
from ..transports.embedding import EmbedMode, host_script, with_marker

logger = logging.getLogger("notebook_host.embed")
register = template.Library()

#: The tag's own keyword arguments; every other one goes to ``reverse()``.
OPTIONS = ("query", "height", "title", "loading", "theme")
LOADING = ("lazy", "eager")
#: marimo's page themes (its own ``?theme=`` query parameter).
THEMES = ("light", "dark", "system")
#: The frame's height before an auto-sized page reports its own.
AUTO_INITIAL_HEIGHT = "150px"
_LENGTH = re.compile(
    r"^(?:0|\d+(?:\.\d+)?(?:px|em|rem|ex|ch|vh|vw|vmin|vmax|svh|lvh|dvh|%|cm|mm|in|pt|pc))$"
)
#: Request attribute: the host script has been emitted for this request.
_SCRIPT_DONE = "_notebook_host_embed_script"


class EmbedConfigError(ImproperlyConfigured):
    """A tag whose arguments cannot work (bad option, not a notebook page)."""


def check_height(value: Any) -> str:
    """ "auto", a CSS length, or a number of pixels; else EmbedConfigError."""
    if isinstance(value, bool):
        raise EmbedConfigError(f"{{% notebook %}}: height={value!r} is not a length.")
    if isinstance(value, int | float) and value >= 0:
        return f"{value}px"
    if isinstance(value, str) and (value == "auto" or _LENGTH.match(value.strip())):
        return value.strip()
    raise EmbedConfigError(
        f'{{% notebook %}}: height={value!r}: use "auto", a CSS length ("480px", "60vh") '
        "or a number of pixels."
    )


def check_loading(value: Any) -> str:
    if value not in LOADING:
        raise EmbedConfigError(f"{{% notebook %}}: loading={value!r}: use one of {LOADING}.")
    return cast(str, value)


def check_theme(value: Any) -> str:
    if value not in THEMES:
        raise EmbedConfigError(f"{{% notebook %}}: theme={value!r}: use one of {THEMES}.")
    return cast(str, value)


_CHECKS = {"height": check_height, "loading": check_loading, "theme": check_theme}


def query_pairs(query: Any) -> Pairs:
    """A ``query=`` mapping as (name, value) pairs; lists give repeated names."""
    if query is None or query == "":
        return []
    if isinstance(query, QueryDict):
        return [(k, v) for k, values in query.lists() for v in values]
    if not isinstance(query, Mapping):
        raise EmbedConfigError(f"{{% notebook %}}: query must be a dict, got {query!r}.")
    pairs: Pairs = []
    for name, value in query.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, datetime.date | datetime.time):
                text = item.isoformat()
            else:
                text = str(item)
            pairs.append((str(name), text))
    return pairs


@dataclass
class Embed:
    """What ``{% notebook %}`` decided; ``{{ embed }}`` renders it.

    ``state`` is "frame" (allowed), "login" (anonymous on a notebook that
    needs a login), "denied" (nothing to show), "invalid" (query fails the
    notebook's params) or "missing" (a broken tag, production only).
    """

    state: str
    request: HttpRequest | None = None
    title: str = ""
    src: str = ""
    height: str = "auto"
    loading: str = "lazy"
    login_url: str = ""
    errors: list[tuple[str, list[str]]] = field(default_factory=list)
    #: The CSP nonce the inline sizing script carries (see :func:`csp_nonce`).
    nonce: str = ""

    @property
    def allowed(self) -> bool:
        return self.state == "frame"

    @property
    def needs_login(self) -> bool:
        return self.state == "login"

    def __bool__(self) -> bool:
        return self.allowed

    def __html__(self) -> SafeString:
        if self.state == "denied":
            return mark_safe("")
        context: dict[str, Any] = {"embed": self}
        if self.state == "frame":
            context["auto"] = self.height == "auto"
            context["initial_height"] = AUTO_INITIAL_HEIGHT if context["auto"] else self.height
            context["sandbox"] = " ".join(get_config()["EMBED_SANDBOX"])
            context["script"] = mark_safe(host_script()) if self._first_frame() else ""
        return mark_safe(render_to_string(f"notebook_host/embed/{self.state}.html", context))

    __str__ = __html__

    def _first_frame(self) -> bool:
        """True once per request: the host page needs the sizing script once."""
        if self.request is None or getattr(self.request, _SCRIPT_DONE, False):
            return False
        setattr(self.request, _SCRIPT_DONE, True)
        return True


def csp_nonce(context: template.Context, request: HttpRequest) -> str:
    """The page's CSP nonce, for the inline sizing script.

    Django's own ``csp_nonce`` (its ``csp`` context processor) or
    django-csp's ``request.csp_nonce``; empty when the site has neither.
    """
    nonce = context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    return str(nonce) if nonce else ""


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
_FRAMED_REFUSALS = frozenset({Reason.OVER_LIMIT})


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
    if isinstance(answer, Refused) and answer.reason not in _FRAMED_REFUSALS:
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


def _run(request: HttpRequest, path: str, pairs: Pairs) -> PageAnswer:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(admit)(request, path, pairs)
    raise EmbedConfigError(
        "{% notebook %} decides access with the database: render its template from a "
        "sync view, or wrap the rendering in sync_to_async, not on the event loop."
    )


class NotebookNode(template.Node):
    def __init__(
        self,
        target: FilterExpression,
        url_kwargs: dict[str, FilterExpression],
        options: dict[str, FilterExpression],
        asvar: str | None,
    ) -> None:
        self.target = target
        self.url_kwargs = url_kwargs
        self.options = options
        self.asvar = asvar

    def render(self, context: template.Context) -> str:
        embed = self.embed(context)
        if self.asvar:
            context[self.asvar] = embed
            return ""
        return cast(str, embed.__html__())

    def embed(self, context: template.Context) -> Embed:
        target = self.target.resolve(context)
        try:
            return self._decide(context, target)
        except (NoReverseMatch, EmbedConfigError) as exc:
            if settings.DEBUG:
                raise
            logger.error("{%% notebook %r %%} cannot be shown: %s", target, exc)
            return Embed("missing")

    def _decide(self, context: template.Context, target: Any) -> Embed:
        request = context.get("request")
        if not isinstance(request, HttpRequest):
            raise EmbedConfigError(
                "{% notebook %} needs the request in the template context: add "
                "'django.template.context_processors.request' to the context processors."
            )
        values = {name: expr.resolve(context) for name, expr in self.options.items()}
        for name, check in _CHECKS.items():
            if name in values:
                values[name] = check(values[name])
        kwargs = {name: expr.resolve(context) for name, expr in self.url_kwargs.items()}
        path = page_path(target, kwargs)
        pairs = query_pairs(values.get("query"))
        if "theme" in values:
            pairs = [(k, v) for k, v in pairs if k != "theme"] + [("theme", values["theme"])]
        answer = _run(request, path, pairs)
        notebook = answer.notebook
        title = str(values.get("title") or (notebook_title(notebook) if notebook else ""))
        if answer.verdict is Verdict.LOGIN:
            return Embed("login", request, title=title, login_url=login_link(request))
        if answer.verdict is Verdict.DENIED:
            logger.info("{%% notebook %r %%} hidden from this visitor", target)
            return Embed("denied", request, title=title)
        if answer.verdict is Verdict.INVALID:
            logger.warning(
                "{%% notebook %r %%} on %s: invalid query %s", target, request.path, answer.errors
            )
            return Embed("invalid", request, title=title, errors=sorted(answer.errors.items()))
        height = values.get("height", "auto")
        mode = EmbedMode.AUTO if height == "auto" else EmbedMode.FIXED
        query = urlencode(answer.pairs, doseq=True)
        src = with_marker(path + (f"?{query}" if query else ""), mode)
        return Embed(
            "frame",
            request,
            title=title,
            src=src,
            height=height,
            loading=values.get("loading", "lazy"),
            nonce=csp_nonce(context, request),
        )


def _constant(expr: FilterExpression) -> tuple[bool, Any]:
    """(True, value) for a literal with no filters, else (False, None)."""
    if expr.filters:
        return False, None
    if isinstance(expr.var, Variable):
        if expr.var.lookups is not None:
            return False, None
        return True, expr.var.literal
    return True, expr.var


@register.tag("notebook")
def notebook_tag(parser: Parser, token: Token) -> NotebookNode:
    """``{% notebook "name" [url kwargs] [query= height= title= loading= theme=] [as var] %}``."""
    bits = token.split_contents()
    tag = bits.pop(0)
    if not bits:
        raise template.TemplateSyntaxError(
            f'{{% {tag} %}} needs a URL name or an absolute path: {{% {tag} "dashboard" %}}.'
        )
    target = parser.compile_filter(bits.pop(0))
    asvar = None
    if len(bits) >= 2 and bits[-2] == "as":
        asvar = bits[-1]
        bits = bits[:-2]
    kwargs = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(
            f"{{% {tag} %}}: unexpected {bits[0]!r}; arguments are name=value "
            f"(URL kwargs and {', '.join(OPTIONS)}), then optionally 'as name'."
        )
    options = {name: kwargs.pop(name) for name in OPTIONS if name in kwargs}
    for name, check in _CHECKS.items():
        if name in options:
            literal, value = _constant(options[name])
            if literal:
                try:
                    check(value)
                except EmbedConfigError as exc:
                    raise template.TemplateSyntaxError(str(exc)) from exc
    return NotebookNode(target, kwargs, options, asvar)
