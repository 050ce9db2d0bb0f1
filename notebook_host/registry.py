"""Notebooks known to this process and their loaded marimo apps.

A :class:`Notebook` is what a URL pattern serves. Its marimo app is built on
first use and kept here, so session lookup and shutdown have one home.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import marimo_adapter, shutdown
from .access import AccessRule
from .options import NotebookOptions

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Notebook:
    """One notebook file, its access rule and its option overrides."""

    file: Path
    access: AccessRule
    name: str | None = None
    route: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.file.stem.replace("_", " ").title()

    def resolved_options(self) -> NotebookOptions:
        return NotebookOptions.resolve(self.options)


class AppRegistry:
    """Builds each notebook's marimo app once and closes them all at exit."""

    def __init__(self) -> None:
        self._apps: dict[Notebook, marimo_adapter.MarimoApp] = {}
        self._lock = threading.Lock()

    def get(self, notebook: Notebook, *, base_url: str) -> marimo_adapter.MarimoApp:
        """The notebook's app, built on first use.

        Raises NotebookMissing / NotebookLoadError; a failed build is not
        cached, so fixing the file heals the page without a restart.
        """
        app = self._apps.get(notebook)
        if app is not None:
            return app
        with self._lock:
            app = self._apps.get(notebook)
            if app is None:
                options = notebook.resolved_options()
                app = marimo_adapter.build_app(notebook.file, options, base_url=base_url)
                self._apps[notebook] = app
                # marimo's `quiet` silences its startup banner; this is ours.
                logger.log(
                    logging.DEBUG if options.quiet else logging.INFO,
                    "Serving %s at %s/ (marimo %s)",
                    notebook.file.name,
                    base_url,
                    marimo_adapter.MARIMO_VERSION,
                )
                shutdown.install()
        return app

    def peek(self, notebook: Notebook) -> marimo_adapter.MarimoApp | None:
        """The notebook's app if it is loaded, without building it."""
        return self._apps.get(notebook)

    def loaded(self) -> list[marimo_adapter.MarimoApp]:
        return list(self._apps.values())

    def session_count(self) -> int:
        return sum(app.session_count() for app in self.loaded())

    def forget(self, notebook: Notebook) -> marimo_adapter.MarimoApp | None:
        with self._lock:
            return self._apps.pop(notebook, None)

    async def shutdown(self, timeout: float) -> None:
        """Close every kernel session of every notebook."""
        with self._lock:
            apps = list(self._apps.values())
            self._apps.clear()
        try:
            await marimo_adapter.shutdown_apps(apps, timeout=timeout)
        except TimeoutError:
            logger.warning("Kernel sessions did not close within %.1fs", timeout)

    def shutdown_sync(self) -> None:
        """Close sessions without an event loop (atexit)."""
        with self._lock:
            apps = list(self._apps.values())
            self._apps.clear()
        for app in apps:
            try:
                app.close_all_sessions()
            except Exception:  # pragma: no cover - best effort at exit
                logger.exception("Closing sessions of %s failed", app.path)


apps = AppRegistry()
