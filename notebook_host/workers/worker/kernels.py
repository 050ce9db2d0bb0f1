"""The worker's state and kernel bookkeeping: which sessions it holds, idle or not."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from typing import Any

from ...admission.pipeline import locate_path
from ...marimo.app import MarimoApp
from ...metrics import record as metrics
from ...runtime.notebook_apps import apps
from .. import records, settings
from ..alive import Alive
from ..protocol import PUMP_SILENCE, Incoming
from .pump import Pump

logger = logging.getLogger(__name__)


class Kernels:
    """A worker's state: its pumps, kernels, requests, and the counts its beats announce."""

    #: Liveness signals for a supervisor (``notebook_worker --alive-file``, systemd).
    alive = Alive()

    def __init__(self, name: str, capacity: int, drain_timeout: float) -> None:
        self.name = name
        self.capacity = capacity
        self.drain_timeout = drain_timeout
        self.channel = ""
        self.layer: Any = None
        self.draining = False
        self.stopping = asyncio.Event()
        self.pumps: dict[str, Pump] = {}
        #: session id -> the app holding its kernel (it may be retired by an edit).
        self.kernels: dict[str, MarimoApp] = {}
        self.requests: dict[str, tuple[Incoming, dict[str, Any], list[bytes]]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        #: Sessions started (or refused) since the last beat: their placement is still reserved.
        self.uncounted: set[str] = set()
        #: Sessions admitted whose app is still being loaded: they count, and are not idle.
        self.starting: set[str] = set()
        #: The loop's latest count for the heartbeat thread: (info, made at, placements it has).
        self._latest: tuple[records.WorkerInfo, float, frozenset[str]] | None = None
        self._beat_lock = threading.Lock()
        self._beats_stop = threading.Event()

    def info(self) -> records.WorkerInfo:
        return records.WorkerInfo(
            name=self.name,
            channel=self.channel,
            sessions=self.session_count(),
            idle=self.idle_count(),
            capacity=self.capacity,
            host=socket.gethostname(),
            pid=os.getpid(),
            draining=self.draining,
        )

    def _connected(self) -> set[str]:
        return {p.session_id for p in self.pumps.values()}

    def _session_ids(self) -> set[str]:
        ids = self.kernels.keys() | self.starting
        for app in apps.loaded():
            ids.update(app.session_ids())
        return ids

    def session_count(self) -> int:
        """Kernels alive here: connected, or waiting out their TTL for a reconnect.

        Sessions whose socket arrived count at once, before marimo made them.
        """
        return len(self._session_ids())

    def idle_count(self) -> int:
        """Kernels with no socket here: closed first when a new one needs room.

        Exactly those :meth:`_make_room` may close, so that the room a heartbeat
        announces (``capacity - sessions + idle``, what fronts place against)
        is the room a WS_CONNECT finds.
        """
        return len(self._idle_ids())

    def _idle_ids(self) -> list[str]:
        connected = {p.session_id for p in self.pumps.values()} | self.starting
        return [sid for sid in self.kernels if sid not in connected]

    def _silent(self, pump: Pump) -> bool:
        silence = max(PUMP_SILENCE * settings.heartbeat(), 3 * settings.expiry())
        return time.monotonic() - pump.heard > silence

    def _forget_silent_pumps(self) -> None:
        """A pump whose front went quiet lost its browser (front killed, disconnect lost).

        marimo is told the socket went, so it keeps the kernel for its TTL (a
        reconnect through any front resumes it) instead of holding it forever.
        """
        for pump in [p for p in self.pumps.values() if self._silent(p)]:
            logger.warning("Socket %s: its front went silent; disconnecting", pump.stream)
            pump.closed = True
            pump.disconnect(1001)
            del self.pumps[pump.stream]

    def _prune_kernels(self) -> None:
        """Forget kernels marimo closed (TTL); a socket's own, maybe still starting, stay."""
        connected = {p.session_id for p in self.pumps.values()}
        for session_id, app in list(self.kernels.items()):
            if session_id not in connected and not app.has_session(session_id):
                del self.kernels[session_id]

    def close_kernel(self, session_id: str) -> None:
        app = self.kernels.pop(session_id, None)
        if app is not None and app.has_session(session_id):
            app.close_session(session_id)

    async def send(self, channel: str, message: dict[str, Any]) -> bool:
        """Send on the layer; False when it failed (full, Redis down, too slow)."""
        try:
            await asyncio.wait_for(self.layer.send(channel, message), settings.timeout())
        except Exception as exc:
            metrics.layer_error("send")
            logger.warning("Could not send to %s: %s: %s", channel, type(exc).__name__, exc)
            return False
        return True

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _app(self, route: dict[str, str], session_id: str | None) -> MarimoApp | None:
        """The app for a route: the one holding ``session_id``, else the current one."""
        if session_id:
            held = self.kernels.get(session_id)
            if held is not None and held.has_session(session_id):
                held.touch()
                return held
        found = await locate_path(route["path"], route.get("root_path", ""))
        if found is None or found.notebook is None:
            return None
        notebook, subpath = found.notebook, found.subpath or ""
        path = route["path"]
        prefix = path[: len(path) - len(subpath)].rstrip("/") if subpath else path.rstrip("/")
        return apps.get(notebook, base_url=prefix)

    def _make_room(self) -> bool:
        """True when a new kernel fits, closing disconnected ones first if needed."""
        self._prune_kernels()
        idle = self._idle_ids()
        while self.session_count() >= self.capacity and idle:
            sid = idle.pop(0)
            logger.info("Closing disconnected session %s to make room", sid)
            self.close_kernel(sid)
        return self.session_count() < self.capacity
