"""The admission checks, each beside the rule it applies, in the order they run.

A check is a function of an :class:`~.arrival.Arrival` that returns when
the arrival may go on and raises :class:`~.refusals.Refused` when it may not
(on the model of DRF's permission classes); it declares the kinds of arrival
it applies to. What a check finds on its way (the cleaned query, the
session record, the body) goes into :class:`Findings` for the kernel scope.

- **route**   the sub-route is one a run-mode page uses
  (:mod:`notebook_host.marimo.routes`; a socket's route and session id are
  checked when its notebook is found, :func:`.arrival.socket_arrival`)
- **access**  the notebook's rule and ``validate`` (:mod:`.access`)
- **slash**   a page without its trailing slash is redirected (after access)
- **origin**  an unsafe HTTP method must come from this site (:mod:`.origin`;
  sockets: :class:`.origin.SocketOriginValidator` in ``asgi.py``, the same rule)
- **params**  the notebook's ``params=`` on the page's or socket's query
  (:mod:`notebook_host.params.gate`)
- **owner**   an API call, a download or a reconnecting socket must come from
  the session's owner (:mod:`.ownership`)
- **limits**  a page must fit ``MAX_SESSIONS`` / ``MAX_SESSIONS_PER_USER``
  (:mod:`.limits`); a new socket is counted when its session is opened
  (:func:`notebook_host.backends.opening.open_socket`)
- **body**    an HTTP body within DATA_UPLOAD_MAX_MEMORY_SIZE that marimo can take
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.core.exceptions import RequestDataTooBig

from ..marimo import protocol, routes
from ..params import gate
from ..params.query import Checked
from ..runtime import session_directory
from ..runtime.session_directory import LocalRecord
from ..targets.access import Decision, decide
from . import limits, ownership
from .arrival import ALL_KINDS, HTTP_KINDS, Arrival, Kind
from .origin import origin_allowed
from .refusals import Reason, Refused

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    """What the params check gives the kernel scope."""

    #: A socket's query for marimo (None: its own, unchanged).
    for_marimo: bytes | None = None
    #: The page query the kernel shows (None: the request's own).
    page: bytes | None = None
    checked: Checked | None = None


@dataclass
class Findings:
    """What the checks found on the way, for the kernel scope."""

    query: Query = field(default_factory=Query)
    #: The session an API call, a download or a reconnecting socket belongs to.
    record: LocalRecord | None = None
    body: bytes = b""


@dataclass(frozen=True)
class Check:
    """One named check and the kinds of arrival it applies to."""

    name: str
    kinds: frozenset[Kind]
    run: Callable[[Arrival, Findings], Awaitable[None]]

    def applies_to(self, arrival: Arrival) -> bool:
        return arrival.kind in self.kinds


async def route(arrival: Arrival, found: Findings) -> None:
    """Sub-routes a run-mode page does not use are refused before anything else."""
    if routes.route_of(arrival.subpath or "") is routes.Route.REFUSED:
        logger.info("Refused %s: not a route notebook_host serves", arrival.path)
        raise Refused(Reason.NOT_FOUND)


_DECISION_REASONS = {
    Decision.LOGIN: Reason.LOGIN,
    Decision.NOT_FOUND: Reason.NOT_FOUND,
    Decision.FORBIDDEN: Reason.FORBIDDEN,
}


async def access(arrival: Arrival, found: Findings) -> None:
    decision = await decide(arrival.user, arrival.notebook, arrival.carrier)
    if decision is Decision.ALLOW:
        return
    if arrival.kind is Kind.SOCKET:
        logger.info("Refused websocket %s for %s", arrival.path, arrival.user)
    else:
        logger.info("Refused %s to %s: %s", arrival.path, arrival.user, decision.value)
    raise Refused(_DECISION_REASONS[decision])


async def slash(arrival: Arrival, found: Findings) -> None:
    if arrival.subpath is None:
        raise Refused(Reason.ADD_SLASH)


async def origin(arrival: Arrival, found: Findings) -> None:
    request = arrival.request
    if request is not None and not origin_allowed(request):
        logger.warning("Refused %s %s: cross-origin", request.method, request.path)
        raise Refused(Reason.BAD_ORIGIN)


async def params(arrival: Arrival, found: Findings) -> None:
    if arrival.kind is Kind.SOCKET:
        raw = arrival.scope.get("query_string", b"")
        try:
            checked = gate.check_socket(arrival.scope, arrival.notebook)
        except gate.InvalidParams as exc:
            logger.info("Refused websocket %s: invalid parameters %s", arrival.path, exc)
            raise Refused(
                Reason.INVALID_PARAMS, detail=gate.close_reason(exc), errors=exc.errors
            ) from exc
        if checked is None:
            found.query = Query(for_marimo=raw, page=protocol.page_query(raw))
        else:
            found.query = Query(for_marimo=checked[0], page=checked[1])
        return
    declared, request = arrival.notebook.params, arrival.request
    if declared is None or request is None:
        return
    raw_query, path = request.META.get("QUERY_STRING", ""), request.path
    verdict = gate.check_page_query(declared, raw_query, path)
    if isinstance(verdict, gate.Redirect):
        raise Refused(Reason.NOT_CANONICAL, location=verdict.location)
    if not verdict.valid:
        logger.info("Invalid parameters for %s: %s", path, verdict.errors)
        raise Refused(Reason.INVALID_PARAMS, errors=verdict.errors)
    found.query = Query(checked=verdict)


async def owner(arrival: Arrival, found: Findings) -> None:
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
            raise Refused(Reason.NOT_OWNER)
        found.record = known
        return
    if request is None:
        return
    if kind is Kind.API:
        session_id = request.headers.get(protocol.SESSION_HEADER)
        if session_id is None and request.method in ("GET", "HEAD"):
            return  # marimo's session-less reads (version, status)
        found.record = ownership.api_session(notebook, session_id, arrival.owner)
        if found.record is None:
            ownership.log_refusal(request.method, request.path, session_id)
            raise Refused(Reason.NOT_OWNER)
    elif arrival.subpath != protocol.EMPTY_DOWNLOAD:
        assert arrival.subpath is not None
        found.record = ownership.download_session(
            notebook, arrival.subpath, arrival.owner, request.method or "GET", request.path
        )
        if found.record is None:
            raise Refused(Reason.NOT_OWNER)


async def limits_(arrival: Arrival, found: Findings) -> None:
    """A page that would open one session too many."""
    key = limits.limit_key(arrival.user, arrival.owner)
    over = limits.check(session_directory.directory, key)
    if over is not None:
        logger.warning("Refused page %s for %s: %s", arrival.path, arrival.user, over.message)
        raise Refused(Reason.OVER_LIMIT, detail=over.message, over=over, limit_key=key)


async def body(arrival: Arrival, found: Findings) -> None:
    request = arrival.request
    if request is None:
        return
    try:
        found.body = request.body
    except RequestDataTooBig as exc:
        logger.warning("Refused %s %s: body too large", request.method, request.path)
        raise Refused(Reason.BODY_TOO_LARGE, detail="Request body too large") from exc
    if request.method == "POST" and arrival.kind is Kind.API:
        assert arrival.subpath is not None
        problem = protocol.api_body_problem(arrival.subpath, found.body)
        if problem is not None:
            logger.info("Refused %s %s: %s", request.method, request.path, problem)
            raise Refused(Reason.BAD_BODY, detail=problem)


_OWNED = frozenset({Kind.API, Kind.DOWNLOAD, Kind.SOCKET})

#: Every check, in the order :func:`.pipeline.admit` runs them (the first refusal wins).
CHECKS: tuple[Check, ...] = (
    Check("route", ALL_KINDS, route),
    Check("access", ALL_KINDS, access),
    Check("slash", frozenset({Kind.PAGE}), slash),
    Check("origin", HTTP_KINDS, origin),
    Check("params", frozenset({Kind.PAGE, Kind.SOCKET}), params),
    Check("owner", _OWNED, owner),
    Check("limits", frozenset({Kind.PAGE}), limits_),
    Check("body", HTTP_KINDS, body),
)

#: With KERNELS = "workers" a front makes the owner and limit checks against
#: the cluster's Redis directory (:mod:`notebook_host.workers.front`).
FRONT_CHECKS = tuple(c for c in CHECKS if c.name not in ("owner", "limits"))


async def run(arrival: Arrival, checks: tuple[Check, ...] = CHECKS) -> Findings:
    """Run each check that applies to the arrival; the first refusal is raised."""
    found = Findings()
    for check in checks:
        if check.applies_to(arrival):
            await check.run(arrival, found)
    return found
