"""Whose kernel session is it: API calls, downloads and sockets of a session's owner only.

A kernel session belongs to the browser session that opened its websocket
(:mod:`notebook_host.runtime.owners`). An API call names its session in the
``Marimo-Session-Id`` header, a download through the kernel thread id in its
URL, a reconnecting socket in its ``session_id``. Unknown, expired and
foreign session ids are refused alike, so an id cannot be probed. No
database query is made: the fast path calls these before Django.
"""

from __future__ import annotations

import logging

from ..marimo import protocol
from ..runtime import session_directory
from ..runtime.owners import same_owner
from ..runtime.session_directory import LocalRecord
from ..targets.notebook import ServedNotebook

logger = logging.getLogger(__name__)


def live_and_owned(record: LocalRecord | None, owner: str | None) -> bool:
    """True while marimo holds the session and ``owner`` is the one who opened it."""
    return (
        record is not None
        and record.app is not None
        and same_owner(record.owner, owner)
        # marimo closed it (its TTL ended): refused here, not a 500 from marimo
        and record.app.has_session(record.session_id)
    )


def api_session(
    notebook: ServedNotebook, session_id: str | None, owner: str | None
) -> LocalRecord | None:
    """The live session ``session_id`` of ``notebook`` if ``owner`` owns it."""
    record = session_directory.directory.get(session_id, notebook)
    return record if live_and_owned(record, owner) else None


def download_session(
    notebook: ServedNotebook, subpath: str, owner: str | None, method: str, where: str
) -> LocalRecord | None:
    """The live session of ``notebook`` that made this download, if ``owner`` owns it."""
    thread_id = protocol.download_thread_id(subpath)
    if thread_id is None:
        logger.warning("Refused %s: not a kernel download URL", where)
        return None
    for record in session_directory.directory.live():
        if record.notebook is not notebook or record.app is None:
            continue
        if record.app.session_of_kernel_thread(thread_id) == record.session_id:
            if same_owner(record.owner, owner):
                return record
            log_refusal(method, where, record.session_id)
            return None
    logger.warning("Refused %s: no live session made this download", where)
    return None


def socket_session(
    notebook: ServedNotebook, session_id: str, owner: str | None
) -> tuple[bool, LocalRecord | None]:
    """(allowed, the known record) for a socket naming ``session_id``.

    A socket may name a new id (no record) or one of its owner's sessions of
    the same notebook; an id someone else holds is refused.
    """
    known = session_directory.directory.lookup(session_id)
    if known is None:
        return True, None
    return known.notebook is notebook and same_owner(known.owner, owner), known


def log_refusal(method: str | None, where: str, session_id: str | None) -> None:
    logger.warning(
        "Refused %s %s: session %s is not this browser's (unknown, expired or another owner's)",
        method,
        where,
        session_id or "(none)",
    )
