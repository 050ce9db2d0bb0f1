"""``{% notebook %}``: a notebook page framed in a Django template.

The tag asks the same questions the page itself would (which notebook, may
this user open it, does this query pass its ``params=``) and renders the
answer: a frame, a sign-in link, a placeholder listing invalid parameters,
or nothing, so existence is never revealed to those who may not open it.
See docs/embedding.md.
"""

from __future__ import annotations

import logging
from typing import Any, cast
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.template.base import FilterExpression, Parser, Token, Variable, token_kwargs
from django.urls import NoReverseMatch

from ..embed.answer import Verdict, decide, login_link, notebook_title, page_path
from ..embed.frame import Embed, csp_nonce
from ..embed.options import CHECKS, OPTIONS, EmbedConfigError, query_pairs
from ..transports.embedding import EmbedMode, with_marker

__all__ = ["Embed", "EmbedConfigError", "NotebookNode", "notebook_tag", "register"]

logger = logging.getLogger("notebook_host.embed")
register = template.Library()


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
        for name, check in CHECKS.items():
            if name in values:
                values[name] = check(values[name])
        kwargs = {name: expr.resolve(context) for name, expr in self.url_kwargs.items()}
        path = page_path(target, kwargs)
        pairs = query_pairs(values.get("query"))
        if "theme" in values:
            pairs = [(k, v) for k, v in pairs if k != "theme"] + [("theme", values["theme"])]
        answer = decide(request, path, pairs)
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
    for name, check in CHECKS.items():
        if name in options:
            literal, value = _constant(options[name])
            if literal:
                try:
                    check(value)
                except EmbedConfigError as exc:
                    raise template.TemplateSyntaxError(str(exc)) from exc
    return NotebookNode(target, kwargs, options, asvar)
