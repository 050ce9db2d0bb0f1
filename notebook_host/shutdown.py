"""Close every kernel session when the server stops.

daphne runs no ASGI lifespan and waits for kernel threads forever on SIGTERM
(DESIGN.md pitfall 4). Under daphne we hook twisted's "before shutdown";
elsewhere (uvicorn, management commands, tests) an exit hook does the same
before Python waits for the kernel threads.
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
    # threading's exit hook runs before the interpreter joins non-daemon
    # threads (kernels are such threads); plain atexit would run too late.
    register = getattr(threading, "_register_atexit", atexit.register)
    try:
        register(_close_sync)
    except RuntimeError:  # interpreter already shutting down
        atexit.register(_close_sync)
    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", _close_under_twisted)


def _close_under_twisted() -> object:
    from twisted.internet.defer import Deferred

    return Deferred.fromFuture(asyncio.ensure_future(close_everything()))


async def close_everything() -> None:
    """End every kernel socket, then every kernel session."""
    from . import consumers
    from .conf import get_config
    from .registry import apps

    timeout = float(get_config()["SHUTDOWN_TIMEOUT"])
    logger.info("Closing %d kernel session(s) before shutdown", apps.session_count())
    await consumers.close_all(timeout)
    await apps.shutdown(timeout)
    await _finish_pending_tasks(timeout)


async def _finish_pending_tasks(timeout: float) -> None:
    """Cancel what is still pending on the loop and wait for it.

    The reactor stops the loop after the shutdown triggers; tasks left
    pending then are torn down by the garbage collector at interpreter exit,
    which crashed daphne (SIGSEGV) in our shutdown test.
    """
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if pending:
        _, still = await asyncio.wait(pending, timeout=min(timeout, 0.5))
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=timeout)


def _close_sync() -> None:
    from .registry import apps

    apps.shutdown_sync()
