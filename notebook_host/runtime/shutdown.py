"""Close every kernel session when the server stops: a registry of callbacks.

daphne runs no ASGI lifespan and waits for kernel threads forever on SIGTERM
(pitfall 4 in docs/architecture.md). Under daphne we hook twisted's "before
shutdown"; a server that runs the lifespan (uvicorn) awaits the same steps
from ``transports.lifespan``; everywhere (management commands, tests) an exit
hook closes what is left before Python waits for the kernel threads.

This module imports nothing of notebook_host: what needs closing registers
itself (:func:`on_shutdown`, :func:`on_exit`), and is closed in ``order``
(sockets before the kernels behind them).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import threading
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

#: Orders of the callbacks: announce, end sockets, then close kernels.
ANNOUNCE = 0
SOCKETS = 10
KERNELS = 20

#: Seconds the default timeout gives each step when nobody installed one.
DEFAULT_TIMEOUT = 3.0

_installed = False
_lock = threading.Lock()
_timeout: Callable[[], float] = lambda: DEFAULT_TIMEOUT  # noqa: E731
_on_shutdown: list[tuple[int, Callable[[float], Awaitable[None]]]] = []
_on_exit: list[Callable[[], None]] = []


def on_shutdown(callback: Callable[[float], Awaitable[None]], *, order: int) -> None:
    """Await ``callback(timeout)`` when the server stops (once, even if registered twice)."""
    with _lock:
        if all(existing != callback for _, existing in _on_shutdown):  # bound methods: ==
            _on_shutdown.append((order, callback))
            _on_shutdown.sort(key=lambda item: item[0])


def on_exit(callback: Callable[[], None]) -> None:
    """Call ``callback()`` at interpreter exit when no event loop is left to await on."""
    with _lock:
        if callback not in _on_exit:
            _on_exit.append(callback)


def install(timeout: Callable[[], float]) -> None:
    """Hook the server's shutdown once; ``timeout()`` bounds each step, in seconds."""
    global _installed, _timeout
    with _lock:
        _timeout = timeout
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
        # twisted is daphne's: imported only when daphne already runs it.
        from twisted.internet import reactor

        # zope.interface declares IReactorCore's methods without self: arguments shift.
        reactor.addSystemEventTrigger("before", "shutdown", _close_under_twisted)  # type: ignore[arg-type]


def _close_under_twisted() -> object:
    # twisted is daphne's: imported only when daphne already runs it.
    from twisted.internet.defer import Deferred

    return Deferred.fromFuture(asyncio.ensure_future(close_everything()))


async def close_everything(*, finish_pending: bool = True) -> None:
    """Await every registered callback in order, then (``finish_pending``) what is left.

    A server that runs the ASGI lifespan finishes its own tasks after the
    shutdown event (the server's main task is one of them): it passes False.
    """
    timeout = float(_timeout())
    for _, callback in list(_on_shutdown):
        try:
            await callback(timeout)
        except Exception:  # one failing step must not keep the rest open
            logger.exception("Shutdown step %r failed", callback)
    if finish_pending:
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
    for callback in list(_on_exit):
        try:
            callback()
        except Exception:  # pragma: no cover - best effort at exit
            logger.exception("Exit step %r failed", callback)
