"""The one module that touches marimo's private server API.

marimo is pinned to an exact version in requirements.txt because
``marimo._server`` and ``marimo._session`` are not public. Everything else in
notebook_host talks to :class:`MarimoApp` and the functions below, so an
upgrade means reading this file and running the suite.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import marimo

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .options import NotebookOptions

logger = logging.getLogger(__name__)

MARIMO_VERSION: str = marimo.__version__

#: Sub-routes that are marimo's own frontend files: identical for every
#: notebook and user, so they are served without touching session or auth.
PUBLIC_FILE_ROUTES: frozenset[str] = frozenset(
    {
        "assets",
        "favicon.ico",
        "manifest.json",
        "android-chrome-192x192.png",
        "android-chrome-512x512.png",
        "apple-touch-icon.png",
        "logo.png",
    }
)

#: First path segments a run-mode page uses below its own URL. A notebook URL
#: pattern claims only these, so a notebook at ``""`` never shadows the rest
#: of the URLconf.
SUB_ROUTES: frozenset[str] = PUBLIC_FILE_ROUTES | {
    "api",
    "ws",
    "ws_sync",
    "sse",
    "health",
    "healthz",
    "@file",
    "public",
    "public-files-sw.js",
    "og",
}

#: Sub-routes that are websockets rather than HTTP.
WEBSOCKET_ROUTES: frozenset[str] = frozenset({"ws", "ws_sync"})

_init_lock = threading.Lock()
_initialised = False


class NotebookLoadError(Exception):
    """The notebook file exists but cannot be served (parse or load error)."""


class NotebookMissing(NotebookLoadError):
    """The notebook file does not exist."""


def initialise() -> None:
    """Do what marimo's lifespan would do; daphne runs no ASGI lifespan."""
    global _initialised
    with _init_lock:
        if _initialised:
            return
        from marimo._server.utils import initialize_asyncio, initialize_mimetypes

        initialize_mimetypes()
        _show_page_url_to_kernel()
        _deterministic_skew_token()
        try:
            initialize_asyncio()
        except RuntimeError:  # pragma: no cover - a loop policy is already set
            logger.debug("asyncio already initialised")
        _initialised = True


#: Scope key holding the page URL a kernel should see: ``{"path", "query_string"}``.
PAGE_SCOPE_KEY = "notebook_host.page"


def _show_page_url_to_kernel() -> None:
    """Make ``app_meta().request.url`` the page's URL on socket and API alike.

    marimo builds the kernel's request from whatever connection carried it,
    so cells would see ``/page/ws?session_id=..`` on load and
    ``/page/api/kernel/set_ui_element_value`` after a click. For scopes we
    mark with PAGE_SCOPE_KEY the url and query are those of the page.
    """
    import dataclasses
    from urllib.parse import parse_qs

    from marimo._runtime.commands import HTTPRequest

    original = HTTPRequest.from_request
    if getattr(original, "_notebook_host", False):
        return

    def from_request(request: Any) -> HTTPRequest:
        result = original(request)
        page = request.scope.get(PAGE_SCOPE_KEY)
        if not page:
            return result
        query = page["query_string"].decode("latin-1")
        url = {**result.url, "path": page["path"], "query": query}
        params = {k: list(v) for k, v in parse_qs(query, keep_blank_values=True).items()}
        return dataclasses.replace(result, url=url, query_params=params)

    from_request._notebook_host = True  # type: ignore[attr-defined]
    HTTPRequest.from_request = staticmethod(from_request)  # type: ignore[method-assign]


def skew_token(code: str) -> str:
    """The skew-protection token of a notebook's code, the same in every process."""
    return hashlib.sha256(b"skew:" + code.encode("utf-8")).hexdigest()


def _deterministic_skew_token() -> None:
    """Derive marimo's skew token from a real hash of the code.

    marimo 0.25.2 uses ``str(hash("skew:" + code))``, random per process
    (PYTHONHASHSEED), so a page from one daphne and a POST to another would
    be refused. With kernels in workers, every process must agree.
    """
    from marimo._server.tokens import SkewProtectionToken

    if getattr(SkewProtectionToken.from_code, "_notebook_host", False):
        return

    def from_code(code: str) -> SkewProtectionToken:
        return SkewProtectionToken(skew_token(code))

    from_code._notebook_host = True  # type: ignore[attr-defined]
    SkewProtectionToken.from_code = staticmethod(from_code)  # type: ignore[method-assign]


class NotMarimoNotebook(NotebookLoadError):
    """The file is Python, but not a marimo notebook."""


@dataclass(frozen=True)
class NotebookInfo:
    """What serving and listing need to know about a notebook file."""

    title: str
    mtime_ns: int


_TITLE = re.compile(r"""app_title\s*=\s*(["'])(.*?)\1""")


def check_notebook_file(path: Path) -> NotebookInfo:
    """Raise a clear error unless ``path`` is a readable marimo notebook.

    Cached per (path, mtime, size): an unchanged file is read once.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise NotebookMissing(f"Notebook file not found: {path.name}") from exc
    if not path.is_file():
        raise NotebookMissing(f"Notebook file not found: {path.name}")
    return _inspect(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _inspect(path: Path, mtime_ns: int, size: int) -> NotebookInfo:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookLoadError(f"Cannot read {path.name}: {exc}") from exc
    if "marimo.App(" not in source:
        raise NotMarimoNotebook(f"{path.name} is not a marimo notebook")
    try:
        ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise NotebookLoadError(
            f"{path.name} does not parse: line {exc.lineno}: {exc.msg}"
        ) from exc
    match = _TITLE.search(source)
    title = match.group(2) if match else path.stem.replace("_", " ")
    return NotebookInfo(title=title, mtime_ns=mtime_ns)


def load_notebook(path: Path) -> NotebookInfo:
    """:func:`check_notebook_file`, then marimo's own static load of the cells.

    Nothing is executed: marimo parses the file into an app and builds its
    cell graph, which finds what a plain parse cannot (no app, broken cells).
    """
    info = check_notebook_file(path)
    from marimo._ast.load import load_app

    try:
        app = load_app(path)
        if app is None:
            raise NotMarimoNotebook(f"{path.name} defines no marimo app")
        app._maybe_initialize()
    except NotebookLoadError:
        raise
    except Exception as exc:
        raise NotebookLoadError(f"{path.name} failed to load: {exc}") from exc
    return info


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

    def close_session(self, session_id: str) -> bool:
        """Close one kernel session now (its socket, if open, is told to go)."""
        from marimo._types.ids import SessionId

        return bool(self._manager.close_session(SessionId(session_id)))

    def close_all_sessions(self) -> None:
        self._manager.close_all_sessions()

    async def shutdown(self) -> None:
        """Close every session and stop marimo's watchers for this file."""
        await self._manager.shutdown()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.starlette(scope, receive, send)


def build_app(path: Path, options: NotebookOptions, *, base_url: str) -> MarimoApp:
    """Build marimo's run-mode app for one file without requiring pyzmq.

    This is what ``create_asgi_app().with_app()`` does per file, minus the
    pyzmq requirement and the lifespan (which daphne never runs).
    """
    initialise()
    info = check_notebook_file(path)

    from marimo._config.config import PartialMarimoConfig
    from marimo._config.manager import get_default_config_manager
    from marimo._server.lsp import NoopLspServer
    from marimo._server.main import create_starlette_app
    from marimo._server.session_manager import SessionManager
    from marimo._server.tokens import AuthToken
    from marimo._server.workspace import SingleFileWorkspace
    from marimo._session.model import SessionMode
    from marimo._utils.marimo_path import MarimoPath

    config = get_default_config_manager(current_path=None).with_overrides(
        cast(
            PartialMarimoConfig,
            {"runtime": {"show_tracebacks": options.show_tracebacks}},
        )
    )
    try:
        manager = SessionManager(
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

    app = create_starlette_app(
        base_url="",
        lifespan=None,
        # Django decides who may reach this app; marimo's token is off.
        enable_auth=False,
        allow_origins=("*",),
        skew_protection=options.skew_protection,
    )
    app.state.session_manager = manager
    app.state.base_url = base_url
    app.state.asset_url = options.asset_url
    app.state.config_manager = config
    app.state.enable_auth = False
    app.state.html_head = options.html_head or None
    app.state.quiet = options.quiet
    app.state.skew_protection = options.skew_protection
    return MarimoApp(path=path, starlette=app, mtime_ns=info.mtime_ns)


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


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def api_body_problem(subpath: str, body: bytes) -> str | None:
    """Why marimo would answer 500 to this API POST body, else None.

    marimo 0.25.2 maps an empty or malformed JSON body, and a set_ui_element_value
    whose objectIds and values differ in length, to 500. Both are the
    client's error; the view answers 400 with this text instead.
    """
    if not body.strip():
        return "Empty body: a JSON object is expected"
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        return f"Malformed JSON body: {exc}"
    if subpath == "api/kernel/set_ui_element_value" and isinstance(data, dict):
        ids, values = data.get("objectIds"), data.get("values")
        if isinstance(ids, list) and isinstance(values, list) and len(ids) != len(values):
            return "objectIds and values must have the same length"
    return None


_frontend_app: Any = None


def frontend_files() -> Any:
    """An ASGI app serving marimo's bundled frontend files.

    They are the same public files for every notebook, so they are served
    without building a notebook app, a session or a user lookup.
    """
    global _frontend_app
    if _frontend_app is None:
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        initialise()
        files = StaticFiles(directory=frontend_dir(), follow_symlink=True)
        # Starlette turns StaticFiles' HTTPException into a plain 404.
        _frontend_app = Starlette(routes=[Mount("/", app=files)])
    return _frontend_app


def frontend_dir() -> Path:
    """marimo's built frontend: index.html and assets/."""
    return Path(marimo.__file__).parent / "_static"
