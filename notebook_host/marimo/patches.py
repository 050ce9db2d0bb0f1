"""marimo's start-up work, done by hand, and our patches of its internals.

daphne runs no ASGI lifespan (pitfall 3 in docs/architecture.md),
so :func:`initialise` does what marimo's lifespan would: mimetypes and the
asyncio policy. It also applies the patches below, each idempotent: the page
URL shown to kernels, a skew token every process agrees on, plugin entry
points read once instead of on every cell run, recorded widget values
applied to a new kernel (:mod:`.replay`), and on interpreters with
CPython gh-106905 a retry of marimo's parsing and compiling of cells that the race failed.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import hashlib
import logging
import os
import platform
import sys
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

from marimo._ast import compiler, transformers
from marimo._runtime.commands import HTTPRequest
from marimo._server.tokens import SkewProtectionToken
from marimo._server.utils import initialize_asyncio, initialize_mimetypes

from . import kernel_logs
from .entry_points import look_up_entry_points_once
from .isolation import kernel as process_kernels
from .protocol import PAGE_SCOPE_KEY
from .replay import apply_recorded_values

logger = logging.getLogger(__name__)

_init_lock = threading.Lock()
_initialised = False


def initialise() -> None:
    """Do what marimo's lifespan would do; daphne runs no ASGI lifespan."""
    global _initialised
    with _init_lock:
        if _initialised:
            return
        initialize_mimetypes()
        show_page_url_to_kernel()
        install_ast_guard()
        deterministic_skew_token()
        look_up_entry_points_once()
        kernel_logs.install()
        apply_recorded_values()
        process_kernels.install()
        try:
            initialize_asyncio()
        except RuntimeError:  # pragma: no cover - a loop policy is already set
            logger.debug("asyncio already initialised")
        _initialised = True


def show_page_url_to_kernel() -> None:
    """Make ``app_meta().request.url`` the page's URL on socket and API alike.

    marimo builds the kernel's request from whatever connection carried it,
    so cells would see ``/page/ws?session_id=..`` on load and
    ``/page/api/kernel/set_ui_element_value`` after a click. For scopes we
    mark with PAGE_SCOPE_KEY the url and query are those of the page.
    """
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


#: CPython releases whose AST conversion keeps its recursion depth in state
#: shared by every thread (gh-106905, fixed in 3.11.8 and 3.12.2): threads
#: parsing or compiling ASTs at once fail now and then with ``SystemError:
#: AST constructor recursion depth mismatch``.
AST_RACE_VERSIONS: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((3, 11, 0), (3, 11, 7)),
    ((3, 12, 0), (3, 12, 1)),
)
#: Environment variable: ``0`` leaves the guard off (to measure its cost).
AST_GUARD_ENV = "NOTEBOOK_HOST_AST_GUARD"
#: marimo modules that compile AST objects with the builtin ``compile``; a
#: module global of that name shadows the builtin for that module only.
AST_COMPILING_MODULES: tuple[ModuleType, ...] = (compiler, transformers)
#: Tries of a parse or compile that keeps hitting the race before its error stands.
AST_RACE_TRIES = 20
#: What CPython says when another thread moved the shared recursion depth.
AST_RACE_MESSAGE = "recursion depth mismatch"
_GUARD_MARK = "_notebook_host_ast_guard"
_RUNNING = tuple(sys.version_info[:3])


def ast_race_affected(version: tuple[int, ...] = _RUNNING) -> bool:
    """Whether this CPython release has the gh-106905 race."""
    release = tuple(version[:3])
    return any(low <= release <= high for low, high in AST_RACE_VERSIONS)


def _retried(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` again when the race, and only the race, failed it.

    Parsing and compiling are pure: a retry gives the tree or code object the
    first try would have. The race leaves the trees intact and shows only as
    the depth check's SystemError at the end of a conversion, or as a
    RecursionError when other threads' depths add up; a real RecursionError
    (deeply nested code) is raised again by every try and stands.
    """

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, AST_RACE_TRIES + 1):
            try:
                return func(*args, **kwargs)
            except SystemError as exc:
                if AST_RACE_MESSAGE not in str(exc) or attempt == AST_RACE_TRIES:
                    raise
            except RecursionError:
                if attempt == AST_RACE_TRIES:
                    raise
            logger.debug("gh-106905 race in %s: try %d", func.__name__, attempt + 1)
        raise AssertionError("unreachable")

    setattr(guarded, _GUARD_MARK, True)
    return guarded


def ast_guard_installed() -> bool:
    """Whether ``ast.parse`` and marimo's AST compiles are retried on the race."""
    guarded = [ast.parse, *(getattr(m, "compile", None) for m in AST_COMPILING_MODULES)]
    return all(getattr(func, _GUARD_MARK, False) for func in guarded)


def install_ast_guard(
    version: tuple[int, ...] = _RUNNING, environ: Mapping[str, str] = os.environ
) -> bool:
    """On interpreters with gh-106905, retry a parse or compile the race failed.

    Each marimo kernel is a thread of this process that parses its cells
    (``ast.parse``) and compiles the trees (``compile``); page loads parse
    too. The race is process-wide and marimo always calls ``ast.parse``
    through the ``ast`` module, so that is wrapped for the whole process, and
    ``compile`` in marimo's modules that compile trees. A lock around them
    (this guard's first form) made every kernel wait behind whichever one
    held it while 100 threads shared the GIL: 100 sessions at once took 36 s
    to start instead of 7.5 s. Elsewhere nothing changes. Returns whether it
    is on.
    """
    if not ast_race_affected(version) or environ.get(AST_GUARD_ENV) == "0":
        return False
    if ast_guard_installed():
        return True
    if not getattr(ast.parse, _GUARD_MARK, False):
        ast.parse = _retried(ast.parse)
    for module in AST_COMPILING_MODULES:
        if not getattr(getattr(module, "compile", None), _GUARD_MARK, False):
            module.compile = _retried(builtins.compile)  # type: ignore[attr-defined]
    logger.info(
        "Python %s: marimo's cell parsing retries on CPython gh-106905",
        platform.python_version(),
    )
    return True


def skew_token(code: str) -> str:
    """The skew-protection token of a notebook's code, the same in every process."""
    return hashlib.sha256(b"skew:" + code.encode("utf-8")).hexdigest()


def deterministic_skew_token() -> None:
    """Derive marimo's skew token from a real hash of the notebook's code.

    marimo 0.25.2 uses ``str(hash("skew:" + code))`` (``_server/tokens.py``),
    random per process (PYTHONHASHSEED), so a page from one daphne and a
    POST to another would be refused. With kernels in workers, every process
    must agree.
    """
    if getattr(SkewProtectionToken.from_code, "_notebook_host", False):
        return

    def from_code(code: str) -> SkewProtectionToken:
        return SkewProtectionToken(skew_token(code))

    from_code._notebook_host = True  # type: ignore[attr-defined]
    SkewProtectionToken.from_code = staticmethod(from_code)  # type: ignore[method-assign]
