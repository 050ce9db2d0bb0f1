"""Building a notebook's marimo run-mode app, and its kernel sessions.

Everything else in notebook_host talks to :class:`MarimoApp` and the
functions below, never to ``marimo._server`` or ``marimo._session``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from marimo._config.config import PartialMarimoConfig
from marimo._config.manager import get_default_config_manager
from marimo._server.lsp import NoopLspServer
from marimo._server.main import create_starlette_app
from marimo._server.session_manager import SessionManager
from marimo._server.tokens import AuthToken
from marimo._server.workspace import SingleFileWorkspace
from marimo._session.events import SessionEventListener
from marimo._session.model import SessionMode
from marimo._types.ids import SessionId
from marimo._utils.marimo_path import MarimoPath

from .files import NotebookLoadError, NotebookMissing, check_notebook_file
from .frontend import MARIMO_VERSION
from .imports import imported_modules
from .isolation.kernel import IsolatedSessionManager
from .isolation.settings import Isolation
from .isolation.templates import ChildProcess, TemplatePool
from .kernel_logs import track
from .patches import initialise

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = [
    "MARIMO_VERSION",
    "Isolation",
    "MarimoApp",
    "build_app",
    "registered_routes",
    "shutdown_apps",
]

logger = logging.getLogger(__name__)


@dataclass
class MarimoApp:
    """One notebook file served by marimo's run-mode Starlette app."""

    path: Path
    starlette: Starlette
    mtime_ns: int
    last_used: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def _manager(self) -> Any:
        return self.starlette.state.session_manager

    @property
    def shows_code(self) -> bool:
        """True when its pages may show the notebook's code (``include_code``)."""
        return bool(self._manager.include_code)

    def session_count(self) -> int:
        """Live kernel sessions (connected or waiting out their TTL)."""
        return len(self._manager.sessions)

    def session_ids(self) -> list[str]:
        return [str(sid) for sid in self._manager.sessions]

    def has_session(self, session_id: str) -> bool:
        """True while marimo holds this session (connected or within its TTL)."""
        return session_id in {str(sid) for sid in self._manager.sessions}

    def session_of_kernel_thread(self, native_id: int) -> str | None:
        """The session whose kernel thread has this native id, if any.

        marimo names a download ``@file/<len>-<kernel thread id>-<random>.<ext>``;
        this ties a download URL to the session that made it.
        """
        for sid, session in list(self._manager.sessions.items()):
            task = getattr(getattr(session, "_kernel_manager", None), "kernel_task", None)
            if getattr(task, "native_id", None) == native_id:
                return str(sid)
        return None

    def kernel_pid(self, session_id: str) -> int | None:
        """The process running this session's kernel; None with thread kernels."""
        session = self._manager.sessions.get(SessionId(session_id))
        task = getattr(getattr(session, "_kernel_manager", None), "kernel_task", None)
        return task.pid if isinstance(task, ChildProcess) else None

    def close_session(self, session_id: str) -> bool:
        """Close one kernel session now (its socket, if open, is told to go)."""
        return bool(self._manager.close_session(SessionId(session_id)))

    def close_all_sessions(self) -> None:
        self._manager.close_all_sessions()
        pool = getattr(self._manager, "pool", None)
        if pool is not None:
            pool.close()

    def kernel_pids(self) -> list[int]:
        """The processes running this notebook's kernels (none with thread kernels)."""
        pool = getattr(self._manager, "pool", None)
        return pool.pids() if pool is not None else []

    def template_pids(self) -> list[int]:
        """This notebook's template processes (none with thread kernels)."""
        pool = getattr(self._manager, "pool", None)
        return pool.template_pids() if pool is not None else []

    async def shutdown(self) -> None:
        """Close every session and stop marimo's watchers for this file."""
        await self._manager.shutdown()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        answered = False

        async def watched(message: MutableMapping[str, Any]) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        try:
            await self.starlette(scope, receive, watched)
        except Exception as exc:
            if not answered:
                raise
            # Starlette re-raises what marimo's handler already answered (a 400
            # for a body its types refuse); passed on, it would make uvicorn drop
            # the connection under the client's next request.
            logger.info("marimo answered %s, then raised %r", scope.get("path"), exc)


@dataclass(frozen=True)
class AppOptions:
    """The marimo options an app is built with (a notebook's: targets/options.py)."""

    include_code: bool
    session_ttl: int
    show_tracebacks: bool
    redirect_console_to_browser: bool
    html_head: str
    quiet: bool
    skew_protection: bool
    asset_url: str | None


def _modules_of(path: Path) -> list[str]:
    try:
        return imported_modules(path.read_text(encoding="utf-8"))
    except OSError:
        return []


class _SessionEnds(SessionEventListener):
    """Calls back when marimo closes one of the app's kernel sessions."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    async def on_session_closed(self, session: Any) -> None:
        self.callback()


def build_app(
    path: Path,
    options: AppOptions,
    *,
    base_url: str,
    isolation: Isolation | None = None,
    on_session_closed: Callable[[], None] | None = None,
) -> MarimoApp:
    """Build marimo's run-mode app for one file without requiring pyzmq.

    This is what ``create_asgi_app().with_app()`` does per file, minus the
    pyzmq requirement and the lifespan (which daphne never runs). With
    process isolation its sessions fork from a template of this file.
    ``on_session_closed`` is called on the event loop when a kernel session
    of the app ends (its TTL passed, or it was closed).
    """
    initialise()
    info = check_notebook_file(path)

    config = get_default_config_manager(current_path=None).with_overrides(
        cast(
            PartialMarimoConfig,
            {"runtime": {"show_tracebacks": options.show_tracebacks}},
        )
    )
    forked = isolation is not None and isolation.processes
    try:
        manager = (IsolatedSessionManager if forked else SessionManager)(
            workspace=SingleFileWorkspace.from_path(MarimoPath(str(path))),
            mode=SessionMode.RUN,
            quiet=options.quiet,
            include_code=options.include_code,
            lsp_server=NoopLspServer(),
            config_manager=config,
            cli_args={},
            argv=None,
            auth_token=AuthToken(""),
            redirect_console_to_browser=options.redirect_console_to_browser,
            ttl_seconds=options.session_ttl,
        )
    except FileNotFoundError as exc:
        raise NotebookMissing(f"Notebook file not found: {path.name}") from exc
    except Exception as exc:
        raise NotebookLoadError(f"{path.name} failed to load: {exc}") from exc

    if on_session_closed is not None:
        manager.event_bus.subscribe(_SessionEnds(on_session_closed))
    if forked:
        assert isolation is not None
        pool = TemplatePool(path, isolation, lambda: _modules_of(path))
        # marimo's SessionManager has no such attribute: ours, read by the session plan.
        setattr(manager, "pool", pool)  # noqa: B010
        pool.template()  # warm it now: the first page should not wait for imports
    app = create_starlette_app(
        base_url="",
        lifespan=None,
        # Django decides who may reach this app; marimo's token is off.
        enable_auth=False,
        # No CORS: only the site's own pages talk to a notebook (admission.origin).
        allow_origins=(),
        skew_protection=options.skew_protection,
    )
    app.state.session_manager = manager
    track(manager)  # kernel logs find a kernel thread's session through it
    app.state.base_url = base_url
    app.state.asset_url = options.asset_url
    app.state.config_manager = config
    app.state.enable_auth = False
    app.state.html_head = options.html_head or None
    app.state.quiet = options.quiet
    app.state.skew_protection = options.skew_protection
    return MarimoApp(path=path, starlette=app, mtime_ns=info.mtime_ns)


def registered_routes(app: MarimoApp) -> list[tuple[str, frozenset[str]]]:
    """Every route path marimo registered on ``app``, with its HTTP methods.

    A mount is named by its own path (``/assets``), not walked into; a
    websocket route has no methods.
    """
    found: list[tuple[str, frozenset[str]]] = []

    def walk(routes: Any, prefix: str) -> None:
        for route in routes:
            path = prefix + str(getattr(route, "path", ""))
            inner = getattr(route, "routes", None)  # a mounted router (a file mount has none)
            if inner:
                walk(inner, path)
                continue
            found.append((path or "/", frozenset(getattr(route, "methods", None) or ())))

    walk(app.starlette.routes, "")
    return found


async def shutdown_apps(apps: list[MarimoApp], timeout: float = 3.0) -> None:
    """Close every session of every app, bounded in time."""
    if not apps:
        return
    results = await asyncio.wait_for(
        asyncio.gather(*(app.shutdown() for app in apps), return_exceptions=True),
        timeout=timeout,
    )
    for app, result in zip(apps, results, strict=True):
        if isinstance(result, BaseException):
            logger.warning("Shutting down %s failed: %s", app.path, result)
