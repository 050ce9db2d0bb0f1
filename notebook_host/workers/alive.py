"""A worker's liveness for process supervisors: a file touched, and systemd's notify socket.

Workers open no HTTP port of their own unless asked, so a supervisor learns
that one is alive from a signal sent each heartbeat while its event loop
still answers (a stuck loop stops beating):

- ``--alive-file PATH``: the file's modification time is the last beat
  (a cron job, a container health command: ``find PATH -mmin -1``);
- under systemd with ``Type=notify`` (``NOTIFY_SOCKET`` set): ``READY=1``
  once the worker announced itself, ``WATCHDOG=1`` each beat (so
  ``WatchdogSec=`` restarts a stuck worker), ``STOPPING=1`` when it drains.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

logger = logging.getLogger(__name__)


def notify(state: str) -> bool:
    """Send ``state`` to systemd's notify socket; False when there is none."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        logger.warning("systemd notify (%s) failed: %s", state, exc)
        return False
    return True


class Alive:
    """Liveness signals of one worker; each does nothing when not configured."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None

    def ready(self) -> None:
        self.beat()
        notify("READY=1")

    def beat(self) -> None:
        if self.path is not None:
            try:
                self.path.touch()
            except OSError as exc:
                logger.warning("Cannot touch the alive file %s: %s", self.path, exc)
        notify("WATCHDOG=1")

    def stopping(self) -> None:
        notify("STOPPING=1")  # draining: beats go on until the process exits

    def stopped(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)
