"""Loaded marimo apps: built on first use, rebuilt on edit, evicted when idle.

One app per notebook serves new sessions. When its file changes, the app is
retired: it keeps serving the sessions it has (found through the
session directory) and is shut down once they are gone. Apps with no session are
evicted after ``APP_IDLE_TTL`` seconds, so memory stays bounded however many
notebooks are visited.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from ..conf import get_config
from ..marimo.app import Isolation, MarimoApp, build_app, shutdown_apps
from ..marimo.frontend import MARIMO_VERSION
from ..marimo.isolation.settings import PROCESS, THREAD, supported
from ..marimo.kernel_logs import install as install_kernel_logs
from ..runtime import shutdown
from ..targets.notebook import ServedNotebook
from . import collector, session_directory

logger = logging.getLogger(__name__)


def isolation() -> Isolation:
    """Where kernels run and their limits, from the settings."""
    config = get_config()
    mode = config["KERNEL_ISOLATION"]
    return Isolation(
        mode=THREAD if mode == PROCESS and not supported() else mode,  # check W006 says so
        memory_limit=config["SESSION_MEMORY_LIMIT"],
        cell_timeout=config["CELL_TIMEOUT"],
    )


class AppRegistry:
    """The marimo app of each notebook, and the retired ones still in use."""

    def __init__(self) -> None:
        self._apps: dict[ServedNotebook, MarimoApp] = {}
        self._retired: list[MarimoApp] = []
        self._lock = threading.Lock()
        self._sweep_handle: asyncio.TimerHandle | None = None
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    def get(self, notebook: ServedNotebook, *, base_url: str) -> MarimoApp:
        """The app serving new sessions of ``notebook``, built or rebuilt as needed.

        Raises NotebookMissing / NotebookLoadError; a failed build is not
        cached, so fixing the file heals the page without a restart.
        """
        app = self._apps.get(notebook)
        if app is not None and self._current(app):
            app.touch()
            return app
        with self._lock:
            app = self._apps.get(notebook)
            if app is not None and self._current(app):
                return app
            if app is not None:
                self._retire(notebook)
            options = notebook.resolved_options()
            app = build_app(
                notebook.file,
                options,
                base_url=base_url,
                isolation=isolation(),
                on_session_closed=lambda: collector.session_closed(self.session_count()),
            )
            install_kernel_logs(stdout=get_config()["KERNEL_STDOUT"])
            self._apps[notebook] = app
        self._install_shutdown()
        self._schedule_sweep()
        # marimo's `quiet` silences its startup banner; this is ours.
        logger.log(
            logging.DEBUG if options.quiet else logging.INFO,
            "Serving %s at %s/ (marimo %s)",
            notebook.file.name,
            base_url,
            MARIMO_VERSION,
        )
        return app

    @staticmethod
    def _current(app: MarimoApp) -> bool:
        """False once the file changed or vanished: new sessions need a rebuild."""
        try:
            return app.path.stat().st_mtime_ns == app.mtime_ns
        except OSError:
            return False

    def peek(self, notebook: ServedNotebook) -> MarimoApp | None:
        """The notebook's current app if it is loaded, without building it."""
        return self._apps.get(notebook)

    def loaded(self) -> list[MarimoApp]:
        """Current and retired apps."""
        return [*self._apps.values(), *self._retired]

    def session_count(self) -> int:
        return sum(app.session_count() for app in self.loaded())

    def forget(self, notebook: ServedNotebook) -> None:
        """Stop serving new sessions of ``notebook``; live ones run out."""
        with self._lock:
            self._retire(notebook)

    def _retire(self, notebook: ServedNotebook) -> None:
        app = self._apps.pop(notebook, None)
        if app is not None:
            self._retired.append(app)

    # -- eviction ---------------------------------------------------------

    def _schedule_sweep(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # built outside a server (tests, shell): nothing to sweep
        if self._sweep_handle is not None and self._sweep_loop is loop:
            return
        self._sweep_loop = loop
        interval = max(0.5, min(30.0, float(get_config()["APP_IDLE_TTL"]) / 2))
        self._sweep_handle = loop.call_later(interval, self._sweep_tick)

    def _sweep_tick(self) -> None:
        self._sweep_handle = None
        evicted = self.evict_idle(float(get_config()["APP_IDLE_TTL"]))
        for app in evicted:
            session_directory.directory.forget_app(app)  # its records would keep the app alive
            task = asyncio.ensure_future(app.shutdown())
            task.add_done_callback(_log_failure)
        session_directory.directory.prune()
        if self.loaded():
            self._schedule_sweep()

    def evict_idle(self, idle_ttl: float) -> list[MarimoApp]:
        """Drop apps with no session: retired ones at once, others when idle."""
        now = time.monotonic()
        evicted: list[MarimoApp] = []
        with self._lock:
            for notebook, app in list(self._apps.items()):
                if now - app.last_used >= idle_ttl and app.session_count() == 0:
                    del self._apps[notebook]
                    evicted.append(app)
            for app in list(self._retired):
                if app.session_count() == 0:
                    self._retired.remove(app)
                    evicted.append(app)
        if evicted:
            logger.debug("Evicted %d idle notebook app(s)", len(evicted))
        return evicted

    # -- shutdown ---------------------------------------------------------

    def _install_shutdown(self) -> None:
        """Have the server's shutdown close this registry's kernels (idempotent)."""
        shutdown.on_shutdown(self._announce, order=shutdown.ANNOUNCE)
        shutdown.on_shutdown(self.shutdown, order=shutdown.KERNELS)
        shutdown.on_exit(self.shutdown_sync)
        shutdown.install(lambda: float(get_config()["SHUTDOWN_TIMEOUT"]))

    async def _announce(self, timeout: float) -> None:
        logger.info("Closing %d kernel session(s) before shutdown", self.session_count())

    def _take_all(self) -> list[MarimoApp]:
        with self._lock:
            apps = self.loaded()
            self._apps.clear()
            self._retired.clear()
            if self._sweep_handle is not None:
                self._sweep_handle.cancel()
                self._sweep_handle = None
        return apps

    async def shutdown(self, timeout: float) -> None:
        """Close every kernel session of every notebook."""
        try:
            await shutdown_apps(self._take_all(), timeout=timeout)
        except TimeoutError:
            logger.warning("Kernel sessions did not close within %.1fs", timeout)

    def shutdown_sync(self) -> None:
        """Close sessions without an event loop (atexit)."""
        for app in self._take_all():
            try:
                app.close_all_sessions()
            except Exception:  # pragma: no cover - best effort at exit
                logger.exception("Closing sessions of %s failed", app.path)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.warning("Shutting down an idle app failed: %s", task.exception())


apps = AppRegistry()
