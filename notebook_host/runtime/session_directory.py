"""Where a kernel session lives: session id -> owner, notebook, page, app.

A session is recorded when its socket opens (:mod:`notebook_host.backends.opening`); the
transports, the limits and the health endpoint look sessions up here only,
through the :class:`SessionDirectory` interface. This process's
implementation is :class:`InProcessSessionDirectory` (the ``directory``
singleton); a directory shared by several processes implements the same
interface.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from ..marimo.app import MarimoApp
from ..targets.notebook import ServedNotebook
from .owners import same_owner
from .session_record import SessionRecord

__all__ = ["GRACE_SECONDS", "LocalRecord", "SessionDirectory", "directory"]

#: Seconds a record is kept before marimo has had time to open its session.
GRACE_SECONDS = 60.0


@dataclass(kw_only=True)
class LocalRecord(SessionRecord):
    """A session record of this process: the notebook and app its kernel lives in."""

    notebook: ServedNotebook
    #: The app the session lives in (it may be retired after an edit).
    app: MarimoApp | None = None
    created: float = field(default_factory=time.monotonic)
    #: Open browser sockets on this session, and when the last one closed.
    sockets: int = 0
    left_at: float | None = None


class SessionDirectory(Protocol):
    """Which notebook, page, owner and app a live kernel session belongs to.

    Every method is synchronous and cheap: the fast path and the limits call
    them between two awaits, so a check and the record it guards cannot race.
    """

    def record(self, record: LocalRecord) -> None:
        """Add (or replace) the record of a session whose socket just opened."""

    def get(self, session_id: str | None, notebook: ServedNotebook) -> LocalRecord | None:
        """The record of ``session_id`` if it is a session of ``notebook``."""

    def lookup(self, session_id: str | None) -> LocalRecord | None:
        """The record of a session id, whatever its notebook."""

    def owned_by(self, session_id: str | None, key: str | None) -> bool:
        """True when the owner key ``key`` owns this live session."""

    def socket_opened(self, session_id: str) -> None:
        """One more browser socket is attached to the session."""

    def socket_closed(self, session_id: str) -> None:
        """One browser socket of the session went away."""

    def live(self) -> list[LocalRecord]:
        """Every live session (connected or within its TTL)."""

    def forget(self, session_id: str) -> None:
        """Drop one record (its session was closed)."""

    def prune(self) -> None:
        """Drop records of sessions marimo has closed."""

    def forget_app(self, app: MarimoApp) -> None:
        """Drop every record of an app that was shut down."""

    def apps_of(self, notebook: ServedNotebook) -> list[MarimoApp]:
        """The apps (current or retired) holding sessions of ``notebook``."""

    def __len__(self) -> int: ...


class InProcessSessionDirectory:
    """The session directory of one server process: a dict under a lock."""

    def __init__(self) -> None:
        self._records: dict[str, LocalRecord] = {}
        self._lock = threading.Lock()

    def record(self, record: LocalRecord) -> None:
        with self._lock:
            self._prune()
            self._records[record.session_id] = record

    def get(self, session_id: str | None, notebook: ServedNotebook) -> LocalRecord | None:
        if not session_id:
            return None
        record = self._records.get(session_id)
        if record is None or record.notebook is not notebook:
            return None
        return record

    def lookup(self, session_id: str | None) -> LocalRecord | None:
        """The record of a session id, whatever its notebook."""
        return self._records.get(session_id) if session_id else None

    def owned_by(self, session_id: str | None, key: str | None) -> bool:
        """True when ``key`` (see :func:`.owners.owner_key`) owns this live session.

        Computable from a raw ASGI scope's cookies: no database query.
        """
        record = self.lookup(session_id)
        return record is not None and same_owner(record.owner, key)

    def socket_opened(self, session_id: str) -> None:
        with self._lock:
            record = self._records.get(session_id)
            if record is not None:
                record.sockets += 1
                record.left_at = None

    def socket_closed(self, session_id: str) -> None:
        with self._lock:
            record = self._records.get(session_id)
            if record is not None:
                record.sockets = max(0, record.sockets - 1)
                if record.sockets == 0:
                    record.left_at = time.monotonic()

    def live(self) -> list[LocalRecord]:
        """Every live session (connected or within its TTL), pruned first."""
        with self._lock:
            self._prune()
            return list(self._records.values())

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._records.pop(session_id, None)

    def prune(self) -> None:
        """Drop records of sessions marimo has closed (past the grace period)."""
        with self._lock:
            self._prune()

    def forget_app(self, app: MarimoApp) -> None:
        """Drop every record of an app that was shut down, so it can be freed."""
        with self._lock:
            for sid, record in list(self._records.items()):
                if record.app is app:
                    del self._records[sid]

    def apps_of(self, notebook: ServedNotebook) -> list[MarimoApp]:
        """The apps (current or retired) holding sessions of ``notebook``."""
        with self._lock:
            found = {id(r.app): r.app for r in self._records.values() if r.notebook is notebook}
        return [app for app in found.values() if app is not None]

    def __len__(self) -> int:
        return len(self._records)

    def _prune(self) -> None:
        """Drop records whose kernel session marimo has closed.

        A record with an open socket stays; one whose socket closed goes as
        soon as marimo drops the session (its TTL), so a closed tab frees
        its slot then; one never seen by marimo goes after the grace period.
        """
        now = time.monotonic()
        live: dict[int, set[str]] = {}
        for sid, record in list(self._records.items()):
            if record.sockets > 0:
                continue
            if record.left_at is None and now - record.created < GRACE_SECONDS:
                continue
            app = record.app
            if app is not None and id(app) not in live:
                live[id(app)] = set(app.session_ids())
            if app is None or sid not in live[id(app)]:
                del self._records[sid]


#: This process's session directory.
directory: InProcessSessionDirectory = InProcessSessionDirectory()
