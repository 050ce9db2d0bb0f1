"""The one admission pipeline: may this arrival drive this notebook's kernel?

Whatever arrives for a notebook (its page, an API call, a download, another
marimo sub-route, or its websocket) goes through :func:`admit`, which
answers :class:`Admitted` (the notebook, its marimo app, the kernel scope to
hand marimo, the session record) or :class:`Refused` (a :class:`Reason`).
The view, the websocket consumer and the kernel-API fast path only translate
a refusal into a status code, a redirect or a close code.

The checks, in order (the first refusal wins):

0. **route**   the sub-route is one a run-mode page uses
   (:mod:`notebook_host.marimo.routes`); a socket names its session
1. **access**  the notebook's rule and ``validate`` (:mod:`.access`)
2. **slash**   a page without its trailing slash is redirected (after access)
3. **origin**  an unsafe HTTP method must come from this site (:mod:`.origin`;
   sockets: :class:`.origin.SocketOriginValidator` in ``asgi.py``, the same rule)
4. **params**  the notebook's ``params=`` on the page's or socket's query
   (:mod:`notebook_host.params.gate`)
5. **owner**   an API call, a download or a reconnecting socket must come from
   the session's owner (:mod:`.ownership`)
6. **limits**  a page must fit ``MAX_SESSIONS`` / ``MAX_SESSIONS_PER_USER``
   (:mod:`.limits`); a new socket is admitted at step 9
7. **body**    an HTTP body within DATA_UPLOAD_MAX_MEMORY_SIZE that marimo can take
8. **app**     the notebook's marimo app loads (:mod:`notebook_host.runtime.notebook_apps`)
9. **scope**   the kernel scope (:mod:`.scope`); a socket's session is recorded,
   with no await between its limit check and the record, so two sockets cannot race

:func:`admit_kernel_call` runs the same owner, origin and body checks for the
fast path without Django or a database query; :func:`acheck_page` asks
steps 1, 4 and 6 for a page without opening anything (template tags).
"""

from __future__ import annotations

import enum
import io
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from ..marimo import protocol, routes
from ..marimo.app import MarimoApp
from ..marimo.files import NotebookLoadError, NotebookMissing
from ..params import gate
from ..params.query import Checked
from ..runtime import session_directory, session_rows
from ..runtime.notebook_apps import apps
from ..runtime.owners import owner_key
from ..runtime.session_directory import SessionRecord
from ..targets.notebook import Located, ServedNotebook, locate
from ..userinfo import request_meta, user_info
from . import limits, ownership
from .access import Decision, decide
from .origin import origin_allowed
from .scope import call_base, http_scope, kernel_scope, socket_base

logger = logging.getLogger(__name__)


class Kind(enum.Enum):
    """What arrived for a notebook."""

    PAGE = "page"
    API = "api"  # marimo's HTTP API: api/kernel/..., api/status, ...
    DOWNLOAD = "download"  # @file/...
    ROUTE = "route"  # marimo's other sub-routes (sse, health, og, ...)
    SOCKET = "socket"


class Reason(enum.Enum):
    """Why an arrival was refused; each transport turns it into its own answer."""

    LOGIN = "login needed"
    NOT_FOUND = "not found"
    FORBIDDEN = "forbidden"
    ADD_SLASH = "no trailing slash"
    BAD_ORIGIN = "cross-origin"
    BAD_HOST = "host not allowed"
    INVALID_PARAMS = "invalid query parameters"
    NOT_CANONICAL = "not the canonical query"
    NOT_OWNER = "not the session's owner"
    OVER_LIMIT = "over a session limit"
    BODY_TOO_LARGE = "body too large"
    BAD_BODY = "bad body"
    NOTEBOOK_MISSING = "notebook file missing"
    LOAD_ERROR = "notebook does not load"
    NOT_A_KERNEL_CALL = "not a kernel API call of an open session"


@dataclass(frozen=True)
class Refused:
    """An arrival that may not reach the kernel, and what its answer needs."""

    reason: Reason
    #: A message for the client (body problems, load errors, close reasons).
    detail: str = ""
    #: INVALID_PARAMS: each field's errors.
    errors: dict[str, list[str]] | None = None
    #: NOT_CANONICAL: where the canonical URL is.
    location: str | None = None
    #: OVER_LIMIT: which limit, and whom it counts (a socket waits for a slot).
    over: limits.OverLimit | None = None
    limit_key: str | None = None


@dataclass
class Admitted:
    """An arrival that may reach the kernel, with all marimo needs for it."""

    notebook: ServedNotebook
    #: The marimo app that holds (or will hold) the kernel session.
    app: MarimoApp | None
    #: The ASGI scope to hand ``app`` (built by :func:`.scope.kernel_scope`).
    scope: dict[str, Any] | None
    #: The session record: the one an API call or download belongs to, or a
    #: socket's (new or resumed); None for a page.
    record: SessionRecord | None = None
    #: The HTTP body, read and checked.
    body: bytes = b""
    #: The page's checked query parameters (notebooks with ``params=``).
    checked: Checked | None = None
    #: The page's path without its trailing slash, e.g. ``/sales/report``.
    prefix: str = ""
    #: The session id a socket now counts for in the session directory.
    counted: str | None = None


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


# -- the pipeline -----------------------------------------------------------------


async def _first_checks(arrival: Arrival) -> Any:
    """Steps 0-4 of :func:`admit` and :func:`admit_front`: the cleaned query, or a refusal."""
    refused = _route(arrival) or await _access(arrival) or _slash(arrival) or _origin(arrival)
    if refused is not None:
        return refused
    return _params(arrival)


async def admit(arrival: Arrival) -> Admitted | Refused:
    """Run every check in order (see the module docstring); the first refusal wins."""
    query = await _first_checks(arrival)
    if isinstance(query, Refused):
        return query
    record = _owner(arrival)
    if isinstance(record, Refused):
        return record
    refused = _limits(arrival)
    if refused is not None:
        return refused
    body = _body(arrival)
    if isinstance(body, Refused):
        return body
    app = _app(arrival, record)
    if isinstance(app, Refused):
        return app
    return await _kernel_scope(arrival, query, record, app, body)


def _route(arrival: Arrival) -> Refused | None:
    """Sub-routes a run-mode page does not use are refused before anything else."""
    if routes.route_of(arrival.subpath or "") is not routes.Route.REFUSED:
        return None
    logger.info("Refused %s: not a route notebook_host serves", arrival.path)
    return Refused(Reason.NOT_FOUND)


async def _access(arrival: Arrival) -> Refused | None:
    decision = await decide(arrival.user, arrival.notebook, arrival.carrier)
    if decision is Decision.ALLOW:
        return None
    if arrival.kind is Kind.SOCKET:
        logger.info("Refused websocket %s for %s", arrival.path, arrival.user)
    else:
        logger.info("Refused %s to %s: %s", arrival.path, arrival.user, decision.value)
    return Refused(_DECISION_REASONS[decision])


_DECISION_REASONS = {
    Decision.LOGIN: Reason.LOGIN,
    Decision.NOT_FOUND: Reason.NOT_FOUND,
    Decision.FORBIDDEN: Reason.FORBIDDEN,
}


def _slash(arrival: Arrival) -> Refused | None:
    return Refused(Reason.ADD_SLASH) if arrival.subpath is None else None


def _origin(arrival: Arrival) -> Refused | None:
    request = arrival.request
    if request is None or origin_allowed(request):
        return None
    logger.warning("Refused %s %s: cross-origin", request.method, request.path)
    return Refused(Reason.BAD_ORIGIN)


@dataclass(frozen=True)
class _Query:
    """What the params step gives the kernel scope."""

    #: A socket's query for marimo (None: its own, unchanged).
    for_marimo: bytes | None = None
    #: The page query the kernel shows (None: the request's own).
    page: bytes | None = None
    checked: Checked | None = None


def _params(arrival: Arrival) -> _Query | Refused:
    params = arrival.notebook.params
    if arrival.kind is Kind.SOCKET:
        raw = arrival.scope.get("query_string", b"")
        try:
            checked = gate.check_socket(arrival.scope, arrival.notebook)
        except gate.InvalidParams as exc:
            logger.info("Refused websocket %s: invalid parameters %s", arrival.path, exc)
            return Refused(Reason.INVALID_PARAMS, detail=gate.close_reason(exc), errors=exc.errors)
        if checked is None:
            return _Query(for_marimo=raw, page=protocol.page_query(raw))
        return _Query(for_marimo=checked[0], page=checked[1])
    if arrival.kind is not Kind.PAGE or params is None or arrival.request is None:
        return _Query()
    request = arrival.request
    return _page_query(params, request.META.get("QUERY_STRING", ""), request.path)


def _page_query(params: Any, raw: str, path: str) -> _Query | Refused:
    verdict = gate.check_page_query(params, raw, path)
    if isinstance(verdict, gate.Redirect):
        return Refused(Reason.NOT_CANONICAL, location=verdict.location)
    if not verdict.valid:
        logger.info("Invalid parameters for %s: %s", path, verdict.errors)
        return Refused(Reason.INVALID_PARAMS, errors=verdict.errors)
    return _Query(checked=verdict)


def _owner(arrival: Arrival) -> SessionRecord | Refused | None:
    kind, notebook, request = arrival.kind, arrival.notebook, arrival.request
    if kind is Kind.SOCKET:
        session_id = protocol.socket_session_id(arrival.scope.get("query_string", b""))
        allowed, known = ownership.socket_session(notebook, session_id, arrival.owner)
        if not allowed:
            logger.warning(
                "Refused websocket %s for %s: session %s belongs to someone else",
                arrival.path,
                arrival.user,
                session_id,
            )
            return Refused(Reason.NOT_OWNER)
        return known
    if request is None:
        return None
    if kind is Kind.API:
        session_id = request.headers.get(protocol.SESSION_HEADER)
        if session_id is None and request.method in ("GET", "HEAD"):
            return None  # marimo's session-less reads (version, status)
        record = ownership.api_session(notebook, session_id, arrival.owner)
        if record is None:
            ownership.log_refusal(request.method, request.path, session_id)
            return Refused(Reason.NOT_OWNER)
        return record
    if kind is Kind.DOWNLOAD and arrival.subpath != protocol.EMPTY_DOWNLOAD:
        assert arrival.subpath is not None
        where = request.path
        record = ownership.download_session(
            notebook, arrival.subpath, arrival.owner, request.method or "GET", where
        )
        return record if record is not None else Refused(Reason.NOT_OWNER)
    return None


def _limits(arrival: Arrival) -> Refused | None:
    """A page that would open one session too many; sockets are admitted at recording."""
    if arrival.kind is not Kind.PAGE:
        return None
    key = limits.limit_key(arrival.user, arrival.owner)
    over = limits.check(session_directory.directory, key)
    if over is None:
        return None
    logger.warning("Refused page %s for %s: %s", arrival.path, arrival.user, over.message)
    return Refused(Reason.OVER_LIMIT, detail=over.message, over=over, limit_key=key)


def _body(arrival: Arrival) -> bytes | Refused:
    request = arrival.request
    if request is None:
        return b""
    try:
        body: bytes = request.body
    except RequestDataTooBig:
        logger.warning("Refused %s %s: body too large", request.method, request.path)
        return Refused(Reason.BODY_TOO_LARGE, detail="Request body too large")
    if request.method == "POST" and arrival.kind is Kind.API:
        assert arrival.subpath is not None
        problem = protocol.api_body_problem(arrival.subpath, body)
        if problem is not None:
            logger.info("Refused %s %s: %s", request.method, request.path, problem)
            return Refused(Reason.BAD_BODY, detail=problem)
    return body


def _app(arrival: Arrival, record: SessionRecord | None) -> MarimoApp | Refused:
    """The app holding the arrival's session (maybe retired by an edit), else the current one."""
    if record is not None and record.app is not None:
        resumable = arrival.kind is not Kind.SOCKET or record.app.has_session(record.session_id)
        if resumable:
            record.app.touch()
            return record.app
    try:
        return apps.get(arrival.notebook, base_url=arrival.prefix)
    except NotebookMissing as exc:
        if arrival.kind is Kind.SOCKET:
            logger.error("Websocket %s: %s", arrival.path, exc)
        else:
            logger.warning("%s: %s", arrival.path, exc)
        return Refused(Reason.NOTEBOOK_MISSING, detail=str(exc))
    except NotebookLoadError as exc:
        if arrival.kind is Kind.SOCKET:
            logger.error("Websocket %s: %s", arrival.path, exc)
        else:
            logger.error("%s: %s", arrival.path, exc, exc_info=exc.__cause__)
        return Refused(Reason.LOAD_ERROR, detail=str(exc))


async def _kernel_scope(
    arrival: Arrival,
    query: _Query,
    record: SessionRecord | None,
    app: MarimoApp,
    body: bytes,
) -> Admitted | Refused:
    prefix = arrival.prefix
    scope, info, meta, page_query = await _scope_for(arrival, query, record)
    admitted = Admitted(
        notebook=arrival.notebook,
        app=app,
        scope=scope,
        record=record,
        body=body,
        checked=query.checked,
        prefix=prefix,
    )
    if arrival.kind is Kind.SOCKET:
        # No await from here to the record: two sockets cannot race for a slot.
        return _record_socket(arrival, admitted, info, meta, page_query)
    session_rows.touch(record.session_id if record is not None else None)
    return admitted


async def _scope_for(
    arrival: Arrival, query: _Query, record: SessionRecord | None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], bytes]:
    """The kernel scope, and the user dict, meta and page query it carries."""
    if arrival.kind is Kind.SOCKET:
        assert query.for_marimo is not None and query.page is not None
        info = await user_info(arrival.user)
        base = socket_base(arrival.scope, query.for_marimo)
        page_query = query.page
    else:
        assert arrival.request is not None
        info = await _user_info_for(arrival.user, record)
        base = http_scope(arrival.request, root_path=arrival.prefix, extra={})
        page_query = record.page_query if record is not None else base["query_string"]
    meta = await request_meta(arrival.carrier)
    scope = kernel_scope(
        base,
        prefix=arrival.prefix,
        page_query=page_query,
        user=info,
        meta=meta,
        path_params=arrival.path_params,
    )
    return scope, info, meta, page_query


async def admit_front(arrival: Arrival) -> Admitted | Refused:
    """What a front decides itself when kernels run in workers (KERNELS = "workers").

    Steps 1-4 and 7 of :func:`admit` (access, slash, origin, params, body)
    and the kernel scope. The owner and limit checks (5, 6 and a socket's
    record) are made against the cluster's Redis directory by
    :mod:`notebook_host.workers.front`, and no app is built: the session's
    worker holds it.
    """
    query = await _first_checks(arrival)
    if isinstance(query, Refused):
        return query
    body = _body(arrival)
    if isinstance(body, Refused):
        return body
    scope, _, _, _ = await _scope_for(arrival, query, None)
    return Admitted(
        notebook=arrival.notebook,
        app=None,
        scope=scope,
        body=body,
        checked=query.checked,
        prefix=arrival.prefix,
    )


async def _user_info_for(user: Any, record: SessionRecord | None) -> dict[str, Any]:
    """The session's user dict when the same user calls its API, else a fresh one."""
    if (
        record is not None
        and record.user_info is not None
        and record.user_id == getattr(user, "pk", None)
    ):
        return record.user_info
    return await user_info(user)


def _record_socket(
    arrival: Arrival,
    admitted: Admitted,
    info: dict[str, Any],
    meta: dict[str, Any],
    page_query: bytes,
) -> Admitted | Refused:
    """Count the socket on its session: resumed, or new once the limits let it in."""
    session_id = protocol.socket_session_id(arrival.scope.get("query_string", b""))
    if not session_id:
        return admitted
    directory = session_directory.directory
    known = admitted.record
    if (
        known is not None
        and admitted.app is known.app
        and known.app is not None
        and known.app.has_session(session_id)
    ):
        directory.socket_opened(session_id)
        admitted.counted = session_id
        return admitted
    key = limits.limit_key(arrival.user, arrival.owner)
    over = limits.admit(directory, key)
    if over is not None:
        logger.warning("Refused websocket %s for %s: %s", arrival.path, arrival.user, over.message)
        return Refused(Reason.OVER_LIMIT, detail=over.message, over=over, limit_key=key)
    admitted.record = SessionRecord(
        session_id=session_id,
        notebook=arrival.notebook,
        page_query=page_query,
        user_id=getattr(arrival.user, "pk", None),
        app=admitted.app,
        user_info=info,
        owner=arrival.owner,
        limit_key=key,
        prefix=admitted.prefix,
        meta=meta,
        path_params=arrival.path_params,
        sockets=1,  # counted as an open tab from the start
    )
    directory.record(admitted.record)
    admitted.counted = session_id
    return admitted


# -- the fast path's entry ---------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return cast(bytes, value)
    return None


def _body_size_ok(scope: dict[str, Any]) -> bool:
    length = _header(scope, b"content-length")
    if length is None or not length.isdigit():
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or int(length) <= limit


def admit_kernel_call(scope: dict[str, Any]) -> Admitted | Refused:
    """A kernel API call of an open session, judged from its ASGI scope alone.

    The socket that opened the session passed steps 1-6 and 9; this checks
    what a call adds (owner, path, host, origin, body size) without Django's
    middleware or a database query. Refused means "let the view answer": it
    runs :func:`admit` and gives the real status.
    """
    if scope["type"] != "http" or scope.get("method") != "POST":
        return Refused(Reason.NOT_A_KERNEL_CALL)
    if protocol.KERNEL_API_INFIX not in scope.get("path", ""):
        return Refused(Reason.NOT_A_KERNEL_CALL)
    raw_id = _header(scope, protocol.SESSION_HEADER_RAW)
    if not raw_id:
        return Refused(Reason.NOT_A_KERNEL_CALL)
    record = session_directory.directory.lookup(raw_id.decode("latin-1"))
    if record is None or record.app is None or record.prefix is None:
        return Refused(Reason.NOT_OWNER)
    if not _body_size_ok(scope):
        return Refused(Reason.BODY_TOO_LARGE)
    request = ASGIRequest(scope, io.BytesIO())
    path = request.path
    if not path.startswith(record.prefix + protocol.KERNEL_API_INFIX):
        return Refused(Reason.NOT_OWNER)  # another page's session
    if routes.route_of(path[len(record.prefix) + 1 :]) is not routes.Route.KERNEL_API:
        return Refused(Reason.NOT_A_KERNEL_CALL)  # refused by the route table: the view says so
    try:
        request.get_host()
    except DisallowedHost:
        return Refused(Reason.BAD_HOST)
    if not origin_allowed(request):
        return Refused(Reason.BAD_ORIGIN)
    if not ownership.live_and_owned(record, owner_key(request)):
        return Refused(Reason.NOT_OWNER)  # a stranger's, or closed: the view answers that
    if not record.notebook.file.is_file():
        return Refused(Reason.NOTEBOOK_MISSING)  # deleted: the view decides
    marimo_scope = kernel_scope(
        call_base(scope, path),
        prefix=record.prefix,
        page_query=record.page_query,
        user=record.user_info,
        meta=record.meta,
        path_params=record.path_params,
    )
    return Admitted(
        notebook=record.notebook,
        app=record.app,
        scope=marimo_scope,
        record=record,
        prefix=record.prefix,
    )


# -- asking without opening (template tags) ------------------------------------------


async def acheck_page(
    request: HttpRequest, notebook: ServedNotebook, query: str | None = None
) -> Admitted | Refused:
    """Would ``notebook``'s page be admitted for this request's user and ``query``?

    Runs access, params and limits (steps 1, 4, 6) as the page would, with
    ``query`` (default: the request's own query string) as the page's query.
    Nothing is opened: no app is built, no session recorded, no body read.
    Admitted carries ``checked`` (the notebook's parameters, canonical:
    ``checked.query``) when the notebook declares some; Refused says why
    (``LOGIN``, ``NOT_FOUND``, ``FORBIDDEN``, ``INVALID_PARAMS`` with
    ``errors``, ``OVER_LIMIT``).
    """
    arrival = await Arrival.from_request(request, notebook, "", {})
    refused = await _access(arrival)
    if refused is not None:
        return refused
    checked = None
    if notebook.params is not None:
        raw = request.META.get("QUERY_STRING", "") if query is None else query
        checked, _ = gate.check_query(notebook.params, raw)
        if not checked.valid:
            return Refused(Reason.INVALID_PARAMS, errors=checked.errors)
    refused = _limits(arrival)
    if refused is not None:
        return refused
    return Admitted(notebook=notebook, app=None, scope=None, checked=checked)


def check_page(
    request: HttpRequest, notebook: ServedNotebook, query: str | None = None
) -> Admitted | Refused:
    """:func:`acheck_page` for sync callers (a template rendered in a worker thread)."""
    return async_to_sync(acheck_page)(request, notebook, query)
