"""Session limits: ``MAX_SESSIONS`` per process, ``MAX_SESSIONS_PER_USER``.

Every kernel session is a thread of this process, so the caps protect the
process, not a fair share. Sessions are counted in the session directory.
A kernel whose tab was closed waits out its TTL so a reconnect can resume
it; when a limit is reached such disconnected kernels are closed first
(the user's own for the per-user cap, the oldest anywhere for the process
cap), so closing a tab frees its slot at once when someone needs it and
within the session TTL otherwise. Only open tabs make a limit refuse.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..conf import get_config
from ..runtime.session_directory import LocalRecord, SessionDirectory

logger = logging.getLogger(__name__)

#: Seconds between checks for a free slot by a page told it is over a limit.
WAIT_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class OverLimit:
    """A refusal: which limit, its value, and when a slot may free up."""

    which: str  # "process" or "user"
    limit: int
    retry_after: int

    @property
    def message(self) -> str:
        who = "on this server" if self.which == "process" else "for your account"
        return (
            f"Too many open sessions {who} (limit {self.limit}): "
            f"close a tab or retry in {self.retry_after} s."
        )


def limit_key(user: Any, owner: str | None) -> str:
    """Whom a session counts against: the signed-in user, else the browser."""
    if getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return f"browser:{owner}" if owner else "anonymous-without-cookie"


def configured_limit(name: str) -> int | None:
    value = get_config()[name]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST[{name!r}] must be a positive integer or None, got {value!r}."
        )
    return value


def _ttl(record: LocalRecord) -> int:
    return int(record.notebook.resolved_options().session_ttl)


def _retry_after(records: list[LocalRecord]) -> int:
    """Seconds until the first disconnected session's TTL ends, else a TTL."""
    now = time.monotonic()
    waits = [
        _ttl(r) - (now - r.left_at) for r in records if r.sockets == 0 and r.left_at is not None
    ]
    if waits:
        return max(1, math.ceil(min(waits)))
    return max(1, int(get_config()["SESSION_TTL"]))


def _disconnected(records: list[LocalRecord]) -> list[LocalRecord]:
    """Sessions with no open tab, oldest departure first."""
    gone = [r for r in records if r.sockets == 0 and r.left_at is not None]
    return sorted(gone, key=lambda r: r.left_at or 0.0)


def check(directory: SessionDirectory, key: str) -> OverLimit | None:
    """Would one more session for ``key`` fit, counting open tabs only?"""
    records = directory.live()
    total, per_user = configured_limit("MAX_SESSIONS"), configured_limit("MAX_SESSIONS_PER_USER")
    mine = [r for r in records if r.limit_key == key]
    if per_user is not None and sum(1 for r in mine if r.sockets) >= per_user:
        return OverLimit("user", per_user, _retry_after(mine))
    if total is not None and sum(1 for r in records if r.sockets) >= total:
        return OverLimit("process", total, _retry_after(records))
    return None


def admit(directory: SessionDirectory, key: str) -> OverLimit | None:
    """Make room for a new session of ``key`` or say why not.

    Closes disconnected sessions (the user's own first) while a limit is
    reached; refuses when open tabs alone fill it. Call it with no await
    between it and recording the session, so two sockets cannot race.
    """
    refusal = check(directory, key)
    if refusal is not None:
        return refusal
    total, per_user = configured_limit("MAX_SESSIONS"), configured_limit("MAX_SESSIONS_PER_USER")
    records = directory.live()
    mine = [r for r in records if r.limit_key == key]
    if per_user is not None:
        for record in _disconnected(mine)[: max(0, len(mine) - per_user + 1)]:
            _evict(directory, record, "user limit")
            records.remove(record)
    if total is not None:
        for record in _disconnected(records)[: max(0, len(records) - total + 1)]:
            _evict(directory, record, "process limit")
    return None


def _evict(directory: SessionDirectory, record: LocalRecord, why: str) -> None:
    logger.info("Closing disconnected session %s to make room (%s)", record.session_id, why)
    directory.forget(record.session_id)
    if record.app is not None:
        record.app.close_session(record.session_id)
