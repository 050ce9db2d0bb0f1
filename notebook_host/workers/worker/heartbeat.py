"""The worker's heartbeat: its count of kernels, sent from a thread each period."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from ...metrics import record as metrics
from .. import records, settings, state
from .kernels import Kernels

logger = logging.getLogger(__name__)


class Heartbeat(Kernels):
    """Counting kernels on the loop and announcing them (the placements they include)."""

    def _snapshot(self) -> tuple[records.WorkerInfo, frozenset[str]]:
        """This worker's count, and the placements it includes, taken together.

        A reservation may only be dropped by a beat whose count has its
        session: sending a count made earlier with a later list of sessions
        let a worker look empty, and two placements both land on it.
        """
        with self._beat_lock:
            info = self.info()
            covered = frozenset(self.uncounted)
            self._latest = (info, time.monotonic(), covered)
        return info, covered

    def _counted(self, covered: frozenset[str]) -> None:
        with self._beat_lock:
            self.uncounted -= covered

    async def beat(self) -> None:
        """One heartbeat now, from the loop (the drain announces itself at once)."""
        info, covered = self._snapshot()
        await state.beat(info, settings.expiry(), sorted(covered))
        self._counted(covered)

    async def _beat_forever(self) -> None:
        """Count kernels on the loop; a thread sends the beats (see :meth:`_beat_thread`)."""
        beats = threading.Thread(target=self._beat_thread, name="heartbeat", daemon=True)
        beats.start()
        try:
            while True:
                self._forget_silent_pumps()
                self._prune_kernels()
                self._snapshot()
                metrics.worker_state(
                    self.name, self.capacity, self._connected(), self._session_ids(), self.draining
                )
                await asyncio.sleep(settings.heartbeat())
        finally:
            self._beats_stop.set()

    def _beat_thread(self) -> None:
        """Send the heartbeat from a thread, so a loop busy starting 100 kernels is not dead.

        The count comes from the loop (:meth:`_snapshot`); a loop silent for
        three expiry periods is stuck, and a stuck worker stops beating.
        """
        while not self._beats_stop.wait(settings.heartbeat()):
            self._beat_latest()

    def _beat_latest(self) -> None:
        """One beat of the thread: the loop's latest count, if the loop is not stuck."""
        with self._beat_lock:
            latest = self._latest
        if latest is None or time.monotonic() - latest[1] > 3 * settings.expiry():
            return
        info, _, covered = latest
        self.alive.beat()
        try:
            state.beat_sync(info, settings.expiry(), sorted(covered))
        except state.ClusterUnavailable as exc:
            logger.warning("Heartbeat failed: %s", exc)
            return
        self._counted(covered)

    def is_alive(self) -> bool:
        """True while the loop counts kernels each heartbeat (``--metrics-port``'s /live)."""
        with self._beat_lock:
            latest = self._latest
        return latest is not None and time.monotonic() - latest[1] <= 3 * settings.expiry()
