"""The worker's side of a socket: a WS_CONNECT becomes a pump into the session's app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ... import closecodes
from ...marimo import files
from ...metrics import record as metrics
from ..protocol import CLOSE_DRAINED, CLOSE_MESSAGE_LOST, WS_OUT, asgi_scope
from .kernels import Kernels
from .pump import Pump

logger = logging.getLogger(__name__)


class Sockets(Kernels):
    """Opening a kernel socket for a front (room made first), and frames for gone ones."""

    async def _connect(self, message: dict[str, Any]) -> None:
        stream, front, session_id = message["stream"], message["front"], message["session_id"]
        pump = Pump(self, stream, session_id, front)
        held = self.kernels.get(session_id)
        resuming = held is not None and held.has_session(session_id)
        with self._beat_lock:  # the next beat drops its reservation, in or out
            self.uncounted.add(session_id)
        if self.draining:
            metrics.session_refused("worker_draining")
            await pump.close(CLOSE_DRAINED, "This worker is shutting down")
            return
        if not resuming and not self._make_room():
            metrics.session_refused("worker_full")
            await pump.close(CLOSE_DRAINED, f"Worker {self.name} is full")
            return
        self.starting.add(session_id)  # counted while its app loads (a connect may follow)
        try:
            app = await self._app(message["route"], session_id)
        except files.NotebookLoadError as exc:
            logger.error("Socket %s: %s", message["route"].get("path"), exc)
            app = None
        finally:
            self.starting.discard(session_id)
        if app is None:
            await pump.close(closecodes.REFUSED, "No notebook at this address")
            return
        for old in [p for p in self.pumps.values() if p.session_id == session_id]:
            old.closed = True  # its front is gone or moved on; marimo drops it too
            old.disconnect(1001)
        self.pumps[stream] = pump
        self.kernels[session_id] = app
        metrics.socket_opened(session_id, message["route"]["path"])
        pump.task = asyncio.create_task(pump.run(app, asgi_scope(message["scope"])))
        pump.task.add_done_callback(lambda _: self._pump_done(pump))

    def _pump_done(self, pump: Pump) -> None:
        if self.pumps.get(pump.stream) is pump:
            del self.pumps[pump.stream]

    async def _unknown_stream(self, message: dict[str, Any]) -> None:
        """A frame for a socket this worker does not run (it restarted): say so."""
        await self.send(
            message["front"],
            {
                "type": WS_OUT,
                "stream": message["stream"],
                "seq": -1,
                "event": "close",
                "code": CLOSE_MESSAGE_LOST,
                "reason": "The kernel of this socket is gone from its worker",
            },
        )
