"""Close every kernel session when the server stops.

daphne runs no ASGI lifespan and waits for kernel threads forever on SIGTERM
(DESIGN.md pitfall 4). Under daphne we hook twisted's "before shutdown";
elsewhere an atexit handler does the same.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import threading

logger = logging.getLogger(__name__)

_installed = False
_lock = threading.Lock()


def install() -> None:
    """Register the shutdown hooks once; called when the first app is built."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(_close_sync)
    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", _close_under_twisted)


def _close_under_twisted() -> object:
    from twisted.internet.defer import Deferred

    from .conf import get_config
    from .registry import apps

    timeout = float(get_config()["SHUTDOWN_TIMEOUT"])
    logger.info("Closing %d kernel session(s) before shutdown", apps.session_count())
    task = asyncio.ensure_future(apps.shutdown(timeout))
    return Deferred.fromFuture(task)


def _close_sync() -> None:
    from .registry import apps

    apps.shutdown_sync()
