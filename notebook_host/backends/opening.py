"""The local backend's opening: count a socket's session, note a call's activity.

Admission (:mod:`notebook_host.admission`) decides and changes nothing; with
local kernels the transport that acts on an admitted arrival opens it here
(with workers, :mod:`notebook_host.workers.front.placement` does):

- :func:`open_socket` counts a socket on its session: a reconnect on its
  resumed session, else a new session once the limits let it in (closing
  idle sessions to make room, :func:`notebook_host.admission.limits.admit`).
  There is no await between the limit check and the record, so two sockets
  cannot race for one slot.
- :func:`note_call` notes an API call's or a download's activity on its
  session's row (:mod:`notebook_host.runtime.session_rows`).
"""

from __future__ import annotations

import logging

from ..admission import limits
from ..admission.arrival import Admitted, Arrival
from ..admission.refusals import Reason, Refused
from ..marimo import protocol
from ..runtime import session_directory, session_rows
from ..runtime.session_directory import LocalRecord

logger = logging.getLogger(__name__)


def open_socket(arrival: Arrival, admitted: Admitted) -> Admitted:
    """Count the socket on its session; raises :class:`Refused` over a limit.

    Sets ``admitted.counted`` (and, for a new session, ``admitted.record``).
    """
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
        raise Refused(Reason.OVER_LIMIT, detail=over.message, over=over, limit_key=key)
    admitted.record = LocalRecord(
        session_id=session_id,
        notebook=arrival.notebook,
        page_query=admitted.page_query,
        user_id=getattr(arrival.user, "pk", None),
        app=admitted.app,
        user_info=admitted.user_info,
        owner=arrival.owner,
        limit_key=key,
        prefix=admitted.prefix,
        meta=admitted.meta or {},
        path_params=arrival.path_params,
        sockets=1,  # counted as an open tab from the start
    )
    directory.record(admitted.record)
    admitted.counted = session_id
    return admitted


def note_call(admitted: Admitted) -> None:
    """An admitted HTTP arrival (page, API call, download): note its session's activity."""
    session_rows.touch(admitted.record.session_id if admitted.record is not None else None)
