"""The one admission pipeline: may this arrival drive this notebook's kernel?

Whatever arrives for a notebook (its page, an API call, a download, another
marimo sub-route, or its websocket) goes through :func:`admit`, which runs
the named checks of :mod:`.checks` (route, access, slash, origin, params,
owner, limits, body: each applies to the kinds it declares, the first
refusal wins), loads the notebook's marimo app and builds the kernel scope.
It answers :class:`~.arrival.Admitted` or :class:`~.refusals.Refused`, whose
reason carries its HTTP status, close code and sentence; one function per
transport turns it into an answer.

Admission decides and has no side effects: a socket's session is counted
and recorded, and a call's activity noted, by
:mod:`notebook_host.backends.opening` once the transport opens it.

:func:`.kernel_call.admit_kernel_call` runs the owner, origin and body checks
for the fast path without Django or a database query; :func:`acheck_page`
asks the access, params and limits checks for a page without opening
anything (template tags).
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpRequest

from ..marimo.app import MarimoApp
from ..marimo.files import NotebookLoadError, NotebookMissing
from ..params import gate
from ..runtime.notebook_apps import apps
from ..runtime.session_directory import LocalRecord
from ..targets.notebook import ServedNotebook
from ..userinfo import request_meta, user_info
from . import checks
from .arrival import Admitted, Arrival, Kind
from .arrival import locate_path as locate_path
from .arrival import socket_arrival as socket_arrival
from .kernel_call import admit_kernel_call as admit_kernel_call
from .refusals import Reason, Refused
from .scope import http_scope, kernel_scope, socket_base

logger = logging.getLogger(__name__)


async def admit(arrival: Arrival) -> Admitted | Refused:
    """Run every check, then load the app and build the kernel scope."""
    try:
        found = await checks.run(arrival)
        app = _app(arrival, found.record)
        return await _admitted(arrival, found, app)
    except Refused as refused:
        return refused


async def admit_front(arrival: Arrival) -> Admitted | Refused:
    """What a front decides itself when kernels run in workers (KERNELS = "workers").

    The checks of :func:`admit` but owner and limits, and the kernel scope.
    The owner and limit checks (and a socket's record) are made against the
    cluster's Redis directory by :mod:`notebook_host.workers.front`, and no
    app is built: the session's worker holds it.
    """
    try:
        found = await checks.run(arrival, checks.FRONT_CHECKS)
        return await _admitted(arrival, found, None)
    except Refused as refused:
        return refused


def _app(arrival: Arrival, record: LocalRecord | None) -> MarimoApp:
    """The app holding the arrival's session (maybe retired by an edit), else the current one.

    Looking an app up marks it used, as :data:`.notebook_apps.apps` does.
    """
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
        raise Refused(Reason.NOTEBOOK_MISSING, detail=str(exc)) from exc
    except NotebookLoadError as exc:
        if arrival.kind is Kind.SOCKET:
            logger.error("Websocket %s: %s", arrival.path, exc)
        else:
            logger.error("%s: %s", arrival.path, exc, exc_info=exc.__cause__)
        raise Refused(Reason.LOAD_ERROR, detail=str(exc)) from exc


async def _admitted(arrival: Arrival, found: checks.Findings, app: MarimoApp | None) -> Admitted:
    """What admitting gives: the kernel scope, and the user dict, meta and page query in it."""
    query, record = found.query, found.record
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
    return Admitted(
        notebook=arrival.notebook,
        app=app,
        scope=scope,
        record=record,
        body=found.body,
        checked=query.checked,
        prefix=arrival.prefix,
        user_info=info,
        meta=meta,
        page_query=page_query,
    )


async def _user_info_for(user: Any, record: LocalRecord | None) -> dict[str, Any]:
    """The session's user dict when the same user calls its API, else a fresh one."""
    if (
        record is not None
        and record.user_info is not None
        and record.user_id == getattr(user, "pk", None)
    ):
        return record.user_info
    return await user_info(user)


# -- asking without opening (template tags) ------------------------------------------


async def acheck_page(
    request: HttpRequest, notebook: ServedNotebook, query: str | None = None
) -> Admitted | Refused:
    """Would ``notebook``'s page be admitted for this request's user and ``query``?

    Runs the access, params and limits checks as the page would, with
    ``query`` (default: the request's own query string) as the page's query.
    Nothing is opened: no app is built, no session recorded, no body read.
    Admitted carries ``checked`` (the notebook's parameters, canonical:
    ``checked.query``) when the notebook declares some; Refused says why
    (``LOGIN``, ``NOT_FOUND``, ``FORBIDDEN``, ``INVALID_PARAMS`` with
    ``errors``, ``OVER_LIMIT``).
    """
    arrival = await Arrival.from_request(request, notebook, "", {})
    found = checks.Findings()
    try:
        await checks.access(arrival, found)
        checked = None
        if notebook.params is not None:
            raw = request.META.get("QUERY_STRING", "") if query is None else query
            checked, _ = gate.check_query(notebook.params, raw)
            if not checked.valid:
                raise Refused(Reason.INVALID_PARAMS, errors=checked.errors)
        await checks.limits_(arrival, found)
    except Refused as refused:
        return refused
    return Admitted(notebook=notebook, app=None, scope=None, checked=checked)


def check_page(
    request: HttpRequest, notebook: ServedNotebook, query: str | None = None
) -> Admitted | Refused:
    """:func:`acheck_page` for sync callers (a template rendered in a worker thread)."""
    return async_to_sync(acheck_page)(request, notebook, query)
