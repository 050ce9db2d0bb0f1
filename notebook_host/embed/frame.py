"""What ``{% notebook %}`` renders: a frame, a sign-in link, invalid parameters, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from ..conf import get_config
from ..transports.embedding import host_script
from .options import AUTO_INITIAL_HEIGHT

#: Request attribute: the host script has been emitted for this request.
SCRIPT_DONE = "_notebook_host_embed_script"


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
        if self.request is None or getattr(self.request, SCRIPT_DONE, False):
            return False
        setattr(self.request, SCRIPT_DONE, True)
        return True


def csp_nonce(context: template.Context, request: HttpRequest) -> str:
    """The page's CSP nonce, for the inline sizing script.

    Django's own ``csp_nonce`` (its ``csp`` context processor) or
    django-csp's ``request.csp_nonce``; empty when the site has neither.
    """
    nonce = context.get("csp_nonce") or getattr(request, "csp_nonce", None)
    return str(nonce) if nonce else ""
