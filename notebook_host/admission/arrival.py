"""What arrived for a notebook, and what admitting it gives the kernel.

:class:`Arrival` is a Django request or a websocket scope for one notebook,
with its :class:`Kind` (page, API call, download, other route, socket): each
check (:mod:`.checks`) declares the kinds it applies to. :class:`Admitted`
is what :func:`.pipeline.admit` gives a transport once every check passed.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from ..marimo import protocol, routes
from ..marimo.app import MarimoApp
from ..params.query import Checked
from ..runtime.owners import owner_key
from ..runtime.session_directory import LocalRecord
from ..targets.notebook import Located, ServedNotebook, locate
from .refusals import Reason, Refused

logger = logging.getLogger(__name__)


class Kind(enum.Enum):
    """What arrived for a notebook."""

    PAGE = "page"
    API = "api"  # marimo's HTTP API: api/kernel/..., api/status, ...
    DOWNLOAD = "download"  # @file/...
    ROUTE = "route"  # marimo's other sub-routes (sse, health, og, ...)
    SOCKET = "socket"


#: The kinds that arrive as HTTP requests.
HTTP_KINDS = frozenset({Kind.PAGE, Kind.API, Kind.DOWNLOAD, Kind.ROUTE})
ALL_KINDS = frozenset(Kind)


@dataclass
class Admitted:
    """An arrival that may reach the kernel, with all marimo needs for it."""

    notebook: ServedNotebook
    #: The marimo app that holds (or will hold) the kernel session.
    app: MarimoApp | None
    #: The ASGI scope to hand ``app`` (built by :func:`.scope.kernel_scope`).
    scope: dict[str, Any] | None
    #: The session record: the one an API call, a download or a reconnecting
    #: socket belongs to (a new socket's is made when its session is opened,
    #: :func:`notebook_host.backends.opening.open_socket`); None for a page.
    record: LocalRecord | None = None
    #: The HTTP body, read and checked.
    body: bytes = b""
    #: The page's checked query parameters (notebooks with ``params=``).
    checked: Checked | None = None
    #: The page's path without its trailing slash, e.g. ``/sales/report``.
    prefix: str = ""
    #: The session id a socket counts for in the session directory, once opened.
    counted: str | None = None
    #: What the kernel scope carries, for a socket's new session record: the
    #: user dict, the request meta and the page's query.
    user_info: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    page_query: bytes = b""


@dataclass
class Arrival:
    """What arrived: a Django request or a websocket scope, for one notebook."""

    kind: Kind
    notebook: ServedNotebook
    #: The sub-route below the notebook's URL: "" for the page, None when the
    #: page was asked for without its trailing slash.
    subpath: str | None
    path_params: dict[str, Any]
    user: Any
    #: The ASGI scope: the websocket's, or the request's (when it has one).
    scope: dict[str, Any] = field(default_factory=dict)
    request: HttpRequest | None = None

    @classmethod
    async def from_request(
        cls,
        request: HttpRequest,
        notebook: ServedNotebook,
        subpath: str | None,
        path_params: dict[str, Any],
    ) -> Arrival:
        return cls(
            kind=http_kind(subpath),
            notebook=notebook,
            subpath=subpath,
            path_params=path_params,
            user=await request.auser(),
            scope=getattr(request, "scope", None) or {},
            request=request,
        )

    @property
    def path(self) -> str:
        return cast(str, self.request.path if self.request is not None else self.scope["path"])

    @property
    def prefix(self) -> str:
        """The page's path without its trailing slash."""
        subpath = self.subpath or ""
        return self.path[: len(self.path) - len(subpath)].rstrip("/")

    @property
    def carrier(self) -> Any:
        """The Django request, else the websocket scope (what project hooks receive)."""
        return self.request if self.request is not None else self.scope

    @cached_property
    def owner(self) -> str | None:
        """The owner key of the browser session it came from (no database query)."""
        return owner_key(self.carrier)


def http_kind(subpath: str | None) -> Kind:
    route = routes.route_of(subpath or "")
    if route is routes.Route.PAGE:
        return Kind.PAGE
    if route is routes.Route.KERNEL_API:
        return Kind.API
    if route is routes.Route.DOWNLOAD:
        return Kind.DOWNLOAD
    return Kind.ROUTE


async def locate_path(path: str, root_path: str = "") -> Located | None:
    """The notebook (and sub-route) a path maps to through the URLconf, if any.

    Sockets and, with KERNELS = "workers", the workers find their notebook
    this way, so page, socket and worker always agree on it.
    """
    path_info = path[len(root_path) :] if root_path and path.startswith(root_path) else path
    try:
        match = resolve(path_info)
    except Resolver404:
        return None
    target = getattr(match.func, "target", None)
    located = await locate(target, match.kwargs) if target is not None else None
    if located is None or located.notebook is None:
        return None
    return located


async def socket_arrival(scope: dict[str, Any]) -> Arrival | Refused:
    """The notebook a socket's path maps to, through the same URLconf as its page."""
    located = await locate_path(scope["path"], scope.get("root_path", ""))
    if located is None or located.notebook is None:
        return Refused(Reason.NOT_FOUND)
    if routes.route_of(located.subpath or "") is not routes.Route.SOCKET:
        return Refused(Reason.NOT_FOUND)
    if not protocol.socket_session_id(scope.get("query_string", b"")):
        logger.info("Refused websocket %s: no session id", scope["path"])
        return Refused(Reason.NOT_FOUND)
    return Arrival(
        kind=Kind.SOCKET,
        notebook=located.notebook,
        subpath=located.subpath,
        path_params=located.path_params,
        user=scope.get("user") or AnonymousUser(),
        scope=scope,
    )
