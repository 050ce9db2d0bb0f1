"""Live kernel sessions, shared across processes through the database.

The session directory (``session_directory.py``) lives in one server's memory; the
admin and ``manage.py notebook_sessions`` may run in another process. So the
server writes a :class:`~notebook_host.models.LiveSession` row when a kernel
socket opens and deletes it when the socket closes. Activity is kept in
memory and written at most once per ``LIVE_SESSION_POLL`` seconds by a poll
task, which also closes sessions whose row was flagged ``close_requested``
and lets registered notebooks notice edits made by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.utils import timezone

from .. import closecodes
from ..conf import get_config
from ..marimo.isolation.usage import usage
from ..models import LiveSession
from . import session_directory
from .notebook_apps import apps, isolation

if TYPE_CHECKING:
    from ..targets.notebook import ServedNotebook

logger = logging.getLogger(__name__)

HOST = socket.gethostname()

#: Socket close code for a session closed by staff.
CLOSED_BY_STAFF = closecodes.CLOSED_BY_STAFF


@dataclass
class OpenSession:
    """A kernel socket open in this process."""

    session_id: str
    consumer: Any
    notebook: ServedNotebook
    activity: float = field(default_factory=time.monotonic)
    written: float = field(default_factory=time.monotonic)
    #: The (memory MiB, CPU seconds) last written to the row (process kernels).
    usage: tuple[float, float] | None = None


_open: dict[str, OpenSession] = {}
_poller: asyncio.Task[None] | None = None
_watchers: list[Any] = []


def watch(callback: Any) -> None:
    """Await ``callback()`` on every poll, until :func:`unwatch`."""
    if callback not in _watchers:
        _watchers.append(callback)


def unwatch(callback: Any) -> None:
    if callback in _watchers:
        _watchers.remove(callback)


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop kernel sockets of this process run on, once one opened."""
    return _poller.get_loop() if _poller is not None else None


async def opened(
    consumer: Any,
    session_id: str,
    notebook: ServedNotebook,
    user: Any,
    notebook_id: int | None,
    worker: str = "",
) -> None:
    """Record a kernel socket that just opened (a reconnect replaces its row).

    ``notebook_id`` is the registered notebook's row, if the session is of one;
    ``worker`` the notebook_worker running its kernel (KERNELS = "workers").
    """
    if not session_id:
        return
    _open[session_id] = OpenSession(session_id=session_id, consumer=consumer, notebook=notebook)
    signed_in = getattr(user, "is_authenticated", False)
    try:
        await LiveSession.objects.aupdate_or_create(
            session_id=session_id,
            defaults={
                "notebook_id": notebook_id,
                "label": consumer.scope["path"].rsplit("/ws", 1)[0] + "/",
                "user_id": user.pk if signed_in else None,
                "username": user.get_username() if signed_in else "",
                "last_activity": timezone.now(),
                "host": HOST,
                "pid": os.getpid(),
                "worker": worker,
                "close_requested": False,
            },
        )
    except DatabaseError as exc:  # the notebook keeps working without its row
        logger.warning("Could not record session %s: %s", session_id, exc)
    ensure_polling()


async def closed(session_id: str | None, consumer: Any) -> None:
    """Forget a kernel socket that closed."""
    entry = _open.get(session_id or "")
    if entry is None or entry.consumer is not consumer:
        return  # a newer socket of the same session took over
    del _open[entry.session_id]
    try:
        await LiveSession.objects.filter(session_id=entry.session_id, pid=os.getpid()).adelete()
    except DatabaseError as exc:
        logger.warning("Could not delete session %s: %s", entry.session_id, exc)


def touch(session_id: str | None) -> None:
    """Note activity (an API call or socket message); written by the next poll."""
    entry = _open.get(session_id or "")
    if entry is not None:
        entry.activity = time.monotonic()


def open_count() -> int:
    return len(_open)


async def close_local(
    session_ids: list[str] | None = None, notebook: Any = None, code: int = CLOSED_BY_STAFF
) -> int:
    """Close kernel sessions held by this process: by id, or all of ``notebook``.

    Their sockets close with ``code`` (staff closes, or a sign-out).
    """
    targets = [
        e
        for e in list(_open.values())
        if (session_ids is not None and e.session_id in session_ids)
        or (notebook is not None and e.notebook is notebook)
    ]
    for entry in targets:
        _open.pop(entry.session_id, None)
        with contextlib.suppress(Exception):
            await entry.consumer.end(code=code)
        for app in apps.loaded():
            if entry.session_id in app.session_ids():
                app.close_session(entry.session_id)
    if targets:
        ids = [e.session_id for e in targets]
        with contextlib.suppress(DatabaseError):
            await LiveSession.objects.filter(session_id__in=ids, pid=os.getpid()).adelete()
        logger.info("Closed %d session(s): %s", len(targets), ", ".join(ids))
    return len(targets)


# -- the poll -------------------------------------------------------------------


def ensure_polling() -> None:
    """Start the poll task on the running loop, unless it runs already."""
    global _poller
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _poller is not None and not _poller.done() and _poller.get_loop() is loop:
        return
    _poller = loop.create_task(_poll_forever())


async def _poll_forever() -> None:
    while _open or _watchers:
        await asyncio.sleep(float(get_config()["LIVE_SESSION_POLL"]))
        try:
            await poll_once()
        except Exception:  # keep polling: a database hiccup must not stop it
            logger.exception("Live session poll failed")


async def poll_once() -> None:
    """Write activity and usage, close sessions flagged elsewhere, run the watchers."""
    flagged = await sync_to_async(_sync_poll)(_activity_updates(), _usage_updates())
    if flagged:
        await close_local(session_ids=flagged)
    for callback in list(_watchers):
        await callback()


def _activity_updates() -> dict[str, datetime]:
    """Sessions active since their last write, with their wall-clock activity time."""
    now_mono, now = time.monotonic(), timezone.now()
    updates = {}
    for entry in _open.values():
        if entry.activity > entry.written:
            updates[entry.session_id] = now - timedelta(seconds=now_mono - entry.activity)
            entry.written = now_mono
    return updates


def _usage_updates() -> dict[str, tuple[float, float]]:
    """Process kernels whose memory or CPU moved since their last write."""
    updates: dict[str, tuple[float, float]] = {}
    if not isolation().processes:
        return updates  # thread kernels share this process: nothing per session
    for entry in _open.values():
        record = session_directory.directory.lookup(entry.session_id)
        app = record.app if record is not None else None
        pid = app.kernel_pid(entry.session_id) if app is not None else None
        now = usage(pid) if pid is not None else None
        if now is None:
            continue
        last = entry.usage
        if last is None or abs(now[0] - last[0]) >= 0.5 or now[1] - last[1] >= 0.1:
            updates[entry.session_id] = entry.usage = (round(now[0], 1), round(now[1], 2))
    return updates


def _sync_poll(
    updates: dict[str, datetime], usages: dict[str, tuple[float, float]] | None = None
) -> list[str]:
    for session_id, when in updates.items():
        LiveSession.objects.filter(session_id=session_id).update(last_activity=when)
    for session_id, (memory, cpu) in (usages or {}).items():
        LiveSession.objects.filter(session_id=session_id).update(memory_mib=memory, cpu_seconds=cpu)
    return list(
        LiveSession.objects.filter(host=HOST, pid=os.getpid(), close_requested=True).values_list(
            "session_id", flat=True
        )
    )


# -- for the admin and the management command ---------------------------------------


def request_close(queryset: Any) -> int:
    """Ask the processes holding these sessions to close them."""
    return cast(int, queryset.update(close_requested=True))


def prune_dead() -> int:
    """Delete rows of processes on this host that no longer run (a crash, a kill)."""
    dead = []
    for pid in LiveSession.objects.filter(host=HOST).values_list("pid", flat=True).distinct():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.append(pid)
        except PermissionError:
            continue  # alive, owned by another user
    if not dead:
        return 0
    deleted, _ = LiveSession.objects.filter(host=HOST, pid__in=dead).delete()
    return cast(int, deleted)
