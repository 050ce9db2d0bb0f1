"""Kernel output in Django logging: cell errors, marimo's own errors, prints.

In run mode marimo prints a failed cell's traceback to stderr in its own
format and shows the viewer "An internal error occurred / See console for
details". Here each cell error gets an error id and goes to the logger
``notebook_host.kernel.cells`` with the notebook, user id and session id;
the viewer sees the same id in a short sentence (the full error to staff,
with ``DEBUG``, or where the notebook shows tracebacks). marimo's own
warnings and errors go to ``notebook_host.kernel.marimo`` instead of its
stderr handler, and, when asked, a notebook's prints to
``notebook_host.kernel.stdout``.

Everything runs in the kernel thread that hit the error; nothing here is on
a widget change's path unless a cell fails.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import weakref
from collections.abc import Callable
from html import escape
from typing import Any, TextIO

from django.conf import settings
from marimo import _loggers
from marimo._messaging import notification_utils
from marimo._messaging.cell_output import CellChannel, CellOutput
from marimo._messaging.context import HTTP_REQUEST_CTX
from marimo._messaging.errors import (
    MarimoInterruptionError,
    is_sensitive_error,
)
from marimo._messaging.notification import CellNotification
from marimo._runtime.context.types import safe_get_context
from marimo._runtime.context.utils import get_mode
from marimo._runtime.runner import cell_runner

__all__ = [
    "CELLS_LOGGER",
    "KERNEL_LOGGER",
    "MARIMO_LOGGER",
    "STDOUT_LOGGER",
    "install",
    "kernel_context",
    "listen",
    "track",
    "viewer_sentence",
]

KERNEL_LOGGER = "notebook_host.kernel"
CELLS_LOGGER = "notebook_host.kernel.cells"
MARIMO_LOGGER = "notebook_host.kernel.marimo"
STDOUT_LOGGER = "notebook_host.kernel.stdout"

#: marimo's "an ancestor raised" error: a consequence of another cell's error.
ANCESTOR_RAISED = "Ancestor raised"
_MARK = "_notebook_host_kernel_logs"

_local = threading.local()
_managers: weakref.WeakSet[Any] = weakref.WeakSet()
_listeners: list[Callable[[dict[str, Any]], None]] = []
_install_lock = threading.Lock()


def viewer_sentence(error_id: str) -> str:
    """What a viewer who may not see the error reads in the failed cell."""
    return (
        f"This cell failed (error id {error_id}). The error was logged for the site's "
        "administrators; quote its id when you report the problem."
    )


def new_error_id() -> str:
    return secrets.token_hex(6)


def track(manager: Any) -> None:
    """Remember a marimo SessionManager, to find the session of a kernel thread."""
    _managers.add(manager)


def listen(callback: Callable[[dict[str, Any]], None]) -> None:
    """Call ``callback(context)`` on each logged cell error (metrics count them)."""
    if callback not in _listeners:
        _listeners.append(callback)


def _session_id(native_id: int) -> str:
    for manager in list(_managers):
        for sid, session in list(manager.sessions.items()):
            task = getattr(getattr(session, "_kernel_manager", None), "kernel_task", None)
            if getattr(task, "native_id", None) == native_id:
                return str(sid)
    return ""


def kernel_context() -> dict[str, Any]:
    """Notebook, user and session of the kernel running in this thread ("" when none)."""
    request = HTTP_REQUEST_CTX.get(None)
    user = getattr(request, "user", None) if request is not None else None
    user = user if isinstance(user, dict) else {}
    url = getattr(request, "url", None) or {}
    context = safe_get_context()
    return {
        "notebook": str(url.get("path") or ""),
        "notebook_file": str(getattr(context, "filename", "") or ""),
        "user_id": user.get("id"),
        "session_id": _session_id(threading.get_native_id()),
        "is_staff": bool(user.get("is_staff")),
    }


def _record_fields(context: dict[str, Any], error_id: str) -> dict[str, Any]:
    fields = {k: v for k, v in context.items() if k != "is_staff"}
    return {**fields, "error_id": error_id}


# -- cell errors --------------------------------------------------------------------


def _remember_traceback(original: Callable[[str], None]) -> Callable[[str], None]:
    """marimo's ``write_traceback``, keeping the text for the error that follows.

    In run mode without ``show_tracebacks`` marimo would print it to stderr,
    in no logging format: the cell error's log record carries it instead.
    """

    def write_traceback(traceback: str) -> None:
        _local.traceback = traceback
        if get_mode() == "run" and not _show_tracebacks():
            return
        original(traceback)

    setattr(write_traceback, _MARK, True)
    return write_traceback


def _show_tracebacks() -> bool:
    context = safe_get_context()
    if context is None:  # no kernel context: marimo shows nothing either
        return False
    try:
        return bool(context.marimo_config["runtime"].get("show_tracebacks", False))
    except Exception:  # no kernel context: marimo shows nothing either
        return False


def _log_cell_error(error: Any, cell_id: str, context: dict[str, Any], traceback: str) -> str:
    error_id = new_error_id()
    fields = _record_fields(context, error_id)
    kind = getattr(error, "exception_type", None) or type(error).__name__
    logging.getLogger(CELLS_LOGGER).error(
        "Cell error in %s (error id %s, session %s, user %s): %s: %s%s",
        fields["notebook"] or fields["notebook_file"],
        error_id,
        fields["session_id"] or "-",
        fields["user_id"] if fields["user_id"] is not None else "-",
        kind,
        error.describe(),
        "\n" + traceback.rstrip() if traceback else "",
        extra={**fields, "cell_id": cell_id, "exception_type": kind, "kernel_traceback": traceback},
    )
    for callback in list(_listeners):
        try:
            callback(fields)
        except Exception:  # a listener must never break the kernel
            logging.getLogger(__name__).exception("Cell error listener failed")
    return error_id


def _notice(data: Any, cell_id: str) -> str | None:
    """Log each real error once; the HTML the viewer sees instead, with the same id.

    marimo's run mode shows a failed cell as an empty area (and, for some
    errors, a toast pointing at a console the viewer cannot see), so the
    notice is the cell's output. None when no error needs one (interrupts,
    ``mo.stop``): marimo shows those as it would.
    """
    traceback, _local.traceback = getattr(_local, "traceback", None) or "", None
    ids: dict[str, str] = getattr(_local, "ids", None) or {}
    _local.ids = ids
    context = kernel_context()
    detailed = _show_tracebacks() or context["is_staff"] or settings.DEBUG
    parts: list[str] = []
    for error in data:
        if not is_sensitive_error(error) or isinstance(error, MarimoInterruptionError):
            continue
        raising = getattr(error, "raising_cell", None)
        if getattr(error, "exception_type", None) == ANCESTOR_RAISED and raising:
            error_id = ids.get(str(raising), "")
            note = f" (error id {error_id})" if error_id else ""
            parts.append(f"<p>This cell did not run because another cell failed{note}.</p>")
            continue
        error_id = _log_cell_error(error, cell_id, context, traceback)
        ids[str(cell_id)] = error_id
        parts.append(f"<p>{escape(viewer_sentence(error_id))}</p>")
        if detailed:
            kind = getattr(error, "exception_type", None) or type(error).__name__
            text = traceback or f"{kind}: {error.describe()}"
            parts.append(f"<pre style='white-space:pre-wrap'>{escape(text)}</pre>")
        traceback = ""  # one traceback, for the first error it belongs to
    if not parts:
        return None
    return NOTICE.format(body="".join(parts))


#: The frame of a failed cell's notice (marimo's run mode shows outputs, not errors).
NOTICE = (
    "<div role='alert' data-notebook-host='cell-error' style='border-left:3px solid #dc2626;"
    "padding:0.25rem 0.75rem;color:#991b1b'>{body}</div>"
)


def broadcast_error(
    data: Any, clear_console: bool, cell_id: Any, execution_id: str | None = None
) -> None:
    """marimo's ``CellNotificationUtils.broadcast_error`` with errors logged by id.

    Outside run mode, and for what is no error (an interrupt, ``mo.stop``),
    marimo's own is called unchanged.
    """
    notice = _notice(data, str(cell_id)) if get_mode() == "run" else None
    if notice is None:
        _original_broadcast_error(data, clear_console, cell_id, execution_id)
        return
    notification_utils.broadcast_notification(
        CellNotification(
            cell_id=cell_id,
            output=CellOutput(channel=CellChannel.OUTPUT, mimetype="text/html", data=notice),
            console=[] if clear_console else None,
            status=None,
            execution_id=execution_id,
        )
    )


setattr(broadcast_error, _MARK, True)
_original_broadcast_error = notification_utils.CellNotificationUtils.broadcast_error


# -- marimo's own log records ------------------------------------------------------------


class ToDjangoLogging(logging.Handler):
    """marimo's warnings and errors, re-emitted under ``notebook_host.kernel.marimo``."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = _record_fields(kernel_context(), new_error_id())
            logging.getLogger(MARIMO_LOGGER).log(
                record.levelno,
                "%s (error id %s)",
                record.getMessage(),
                fields["error_id"],
                exc_info=record.exc_info,
                extra={**fields, "marimo_logger": record.name},
            )
        except Exception:
            self.handleError(record)


def _route_marimo_logger() -> None:
    """Replace marimo's stderr handler by one into Django's logging (its log file stays)."""
    logger = _loggers.marimo_logger()
    if any(isinstance(h, ToDjangoLogging) for h in logger.handlers):
        return
    for handler in list(logger.handlers):
        if type(handler) is logging.StreamHandler:
            logger.removeHandler(handler)
    logger.addHandler(ToDjangoLogging())


# -- prints --------------------------------------------------------------------------------


class KernelStdout:
    """Process stdout that also logs, line by line, what kernel threads print."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = self.stream.write(text)
        if safe_get_context() is not None and text.strip():
            fields = kernel_context()
            for line in text.rstrip("\n").splitlines():
                logging.getLogger(STDOUT_LOGGER).info(
                    "%s", line, extra={k: v for k, v in fields.items() if k != "is_staff"}
                )
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def install(*, stdout: bool = False) -> None:
    """Apply the hooks above; idempotent. ``stdout``: log kernel prints too."""
    with _install_lock:
        utils = notification_utils.CellNotificationUtils
        if not getattr(utils.broadcast_error, _MARK, False):
            utils.broadcast_error = staticmethod(broadcast_error)  # type: ignore[method-assign]
        # write_traceback: imported into cell_runner, not re-exported (marimo private API).
        original = cell_runner.write_traceback  # type: ignore[attr-defined]
        if not getattr(original, _MARK, False):
            cell_runner.write_traceback = _remember_traceback(original)  # type: ignore[attr-defined,assignment]
        _route_marimo_logger()
        if stdout and not isinstance(sys.stdout, KernelStdout):
            sys.stdout = KernelStdout(sys.stdout)
