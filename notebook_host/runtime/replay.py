"""Replay of widget values: a lost kernel comes back as its viewer left it.

A run-mode notebook is, for most notebooks, a function of its UI element
values, and every value reaches a kernel through a front (marimo's
``set_ui_element_value`` call). So the front records, per session, the
latest value of each element (object id -> value) with a hash of the
notebook's code, before it forwards the change. When a socket for a known
session arrives and its kernel is gone, the new kernel gets those values
before its first run (:mod:`notebook_host.marimo.replay` applies the
:data:`~notebook_host.marimo.protocol.REPLAY_SCOPE_KEY` entry of the socket's
scope) and the page a short notice.

This module holds what both stores share: parsing a change, the bounds, the
code hash and the decision. Stores: :class:`MemoryReplayStore` here (local
kernels), :mod:`notebook_host.workers.replay_store` (Redis, workers).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from ..conf import get_config
from ..marimo.protocol import SET_UI_ELEMENT_VALUE
from .owners import same_owner

if TYPE_CHECKING:
    from ..marimo.app import MarimoApp
    from .session_directory import LocalRecord

__all__ = [
    "MemoryReplayStore",
    "Recorded",
    "changes",
    "code_hash",
    "enabled",
    "plan",
    "store",
]

#: Why a session starts fresh, or that it was restored (sent as marimo's alert: a toast).
RESTORED = {
    "title": "Session restored",
    "description": "The kernel of this page was lost; your widget values were applied again.",
}
CHANGED = {
    "title": "Session restarted",
    "description": "The kernel of this page was lost and the notebook has changed since, "
    "so your widget values could not be restored: it starts fresh.",
}
TOO_LARGE = {
    "title": "Session restarted",
    "description": "The kernel of this page was lost; it held more widget values than "
    "can be kept (REPLAY_MAX_VALUES / REPLAY_MAX_BYTES), so it starts fresh.",
}


def enabled() -> bool:
    return bool(get_config()["REPLAY"])


def bounds() -> tuple[int, int]:
    """(most values, most bytes of JSON) kept per session; a bad setting says so."""
    config = get_config()
    found = []
    for name in ("REPLAY_MAX_VALUES", "REPLAY_MAX_BYTES"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ImproperlyConfigured(
                f"NOTEBOOK_HOST[{name!r}] must be a positive int, not {value!r}"
            )
        found.append(value)
    return found[0], found[1]


def changes(subpath: str, body: bytes) -> list[tuple[str, str]] | None:
    """(object id, value as JSON) pairs a kernel API call sets; None when it sets none.

    Only ``set_ui_element_value`` sets values; a body marimo would refuse
    (ids not strings, lengths differing) records nothing.
    """
    if subpath != SET_UI_ELEMENT_VALUE:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    ids, values = data.get("objectIds"), data.get("values")
    if not isinstance(ids, list) or not isinstance(values, list) or len(ids) != len(values):
        return None
    if not ids or not all(isinstance(i, str) for i in ids):
        return None
    return [(i, json.dumps(v, separators=(",", ":"))) for i, v in zip(ids, values, strict=True)]


_hashes: dict[tuple[str, int], str] = {}


def code_hash(path: Path, mtime_ns: int | None = None) -> str:
    """A hash of a notebook file's code, cached per (path, mtime)."""
    if mtime_ns is None:
        mtime_ns = path.stat().st_mtime_ns
    key = (str(path), mtime_ns)
    found = _hashes.get(key)
    if found is None:
        if len(_hashes) > 1000:
            _hashes.clear()
        found = _hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class Recorded:
    """What a store holds for one session."""

    owner: str
    code: str
    #: object id -> value as JSON, in the order last set.
    values: dict[str, str] = field(default_factory=dict)
    #: Set once the session went over a bound ("values" or "bytes"): nothing more is kept.
    over: str = ""

    def size(self) -> int:
        return sum(len(v) for v in self.values.values())

    def over_bounds(self, max_values: int, max_bytes: int) -> str:
        if len(self.values) > max_values:
            return "values"
        return "bytes" if self.size() > max_bytes else ""


def plan(recorded: Recorded | None, owner: str | None, code: str) -> dict[str, Any] | None:
    """What a new kernel of this session gets: values and a notice; None: nothing.

    Only the owner who set the values gets them back; a changed notebook or
    a session over the bounds starts fresh, with a notice saying why.
    """
    if recorded is None or not same_owner(recorded.owner, owner):
        return None
    if recorded.over or recorded.over_bounds(*bounds()):
        return {"ids": [], "values": [], "notice": TOO_LARGE}
    if recorded.code != code:
        return {"ids": [], "values": [], "notice": CHANGED}
    if not recorded.values:
        return None
    return {
        "ids": list(recorded.values),
        "values": [json.loads(v) for v in recorded.values.values()],
        "notice": RESTORED,
    }


def _ttl() -> float:
    """Seconds values outlive their last use: past the kernel's own TTL."""
    return float(get_config()["SESSION_TTL"]) * 2 + 60


class MemoryReplayStore:
    """Local kernels' store: a dict; a session's values go ``ttl`` after their last use."""

    def __init__(self) -> None:
        self._logs: dict[str, tuple[Recorded, float]] = {}
        self._lock = threading.Lock()

    def record(
        self, session_id: str, owner: str | None, code: str, pairs: list[tuple[str, str]]
    ) -> bool:
        """Keep ``pairs`` for the session; False when ``owner`` may not (not its owner)."""
        if not owner:
            return False
        max_values, max_bytes = bounds()
        with self._lock:
            found = self._logs.get(session_id)
            log = found[0] if found is not None and found[1] > time.monotonic() else None
            if log is not None and not same_owner(log.owner, owner):
                return False
            if log is None or log.code != code:
                log = Recorded(owner=owner, code=code)
            if not log.over:
                for object_id, value in pairs:  # kept in the order set
                    log.values.pop(object_id, None)
                    log.values[object_id] = value
                log.over = log.over_bounds(max_values, max_bytes)
                if log.over:
                    log.values.clear()
            self._logs[session_id] = (log, time.monotonic() + _ttl())
        return True

    def keep(self, session_id: str) -> None:
        """Start the session's time again (its socket closed: the kernel's TTL starts)."""
        with self._lock:
            found = self._logs.get(session_id)
            if found is not None:
                self._logs[session_id] = (found[0], time.monotonic() + _ttl())

    def get(self, session_id: str) -> Recorded | None:
        with self._lock:
            now = time.monotonic()
            for sid in [s for s, (_, until) in self._logs.items() if until <= now]:
                del self._logs[sid]
            found = self._logs.get(session_id)
        return found[0] if found is not None else None

    def clear(self) -> None:
        with self._lock:
            self._logs.clear()


#: This process's store (local kernels).
store = MemoryReplayStore()


def _app_code(app: MarimoApp | None) -> str:
    return code_hash(app.path, app.mtime_ns) if app is not None else ""


def remember(record: LocalRecord, subpath: str, body: bytes) -> None:
    """Local kernels: keep the values an admitted API call of ``record`` sets."""
    if not enabled():
        return
    pairs = changes(subpath, body)
    if pairs:
        store.record(record.session_id, record.owner, _app_code(record.app), pairs)


def local_plan(session_id: str, owner: str | None, app: MarimoApp | None) -> dict[str, Any] | None:
    """Local kernels: what a socket's new kernel starts with (see :func:`plan`)."""
    if not enabled() or not session_id:
        return None
    return plan(store.get(session_id), owner, _app_code(app))
