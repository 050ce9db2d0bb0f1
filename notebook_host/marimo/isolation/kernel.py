"""marimo's kernel and queue managers for a session whose kernel is a forked child.

marimo's run mode builds a thread kernel (``KernelManagerImpl``); for an app
built with process isolation, :func:`install` has ``Session.create`` build
these instead, which fork the kernel from the notebook's template and speak
to it over one socket: tagged commands in, kernel messages out (read by
marimo's ``ConnectionDistributor`` on the event loop, as in edit mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import pickle
import socket
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, get_args

from marimo._config.settings import GLOBAL_SETTINGS
from marimo._messaging.notification import BannerNotification
from marimo._messaging.serde import serialize_kernel_message
from marimo._runtime import commands
from marimo._server.session_manager import SessionManager
from marimo._session import session as marimo_session
from marimo._session.managers import KernelManagerImpl, QueueManagerImpl
from marimo._session.model import SessionMode
from marimo._session.types import KernelExitInfo, KernelManager, QueueManager
from marimo._utils.subprocess import interrupt_kernel_process

from .settings import Isolation, interrupt_sentence, limit_sentence
from .templates import ChildProcess, TemplatePool

logger = logging.getLogger("notebook_host.isolation")

#: Seconds a closed session's kernel has to exit on its own before it is killed.
STOP_GRACE = 2.0


@dataclass
class Plan:
    """What the session being created forks from (set around marimo's create)."""

    pool: TemplatePool
    session_id: str
    queue_manager: ProcessQueueManager | None = None


_plan: contextvars.ContextVar[Plan | None] = contextvars.ContextVar("isolation_plan", default=None)


class _Sender:
    """One of marimo's queues on the server: a put sends a tagged message."""

    def __init__(self, owner: ProcessQueueManager, tag: str) -> None:
        self._owner, self._tag = owner, tag

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        self._owner.send(self._tag, obj)

    def put_nowait(self, obj: Any) -> None:
        self.put(obj)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        raise NotImplementedError("the kernel reads this queue in its own process")

    get_nowait = get

    def empty(self) -> bool:
        return True


class ProcessQueueManager(QueueManager):
    """marimo's queues, as messages over the session's socket."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.user: str | None = None
        self._lock = threading.Lock()
        self.control_queue = _Sender(self, "c")
        self.set_ui_element_queue = _Sender(self, "u")
        self.completion_queue = _Sender(self, "o")
        self.input_queue = _Sender(self, "i")
        self.stream_queue = None  # marimo reads kernel_connection instead
        self.win32_interrupt_queue = None

    def send(self, tag: str, obj: Any) -> None:
        with self._lock:
            if self.conn is None or self.conn.closed:
                return
            try:
                self.conn.send((tag, obj))
            except OSError:
                logger.debug("Kernel process gone; dropped a %s message", type(obj).__name__)

    def put_control_request(self, request: commands.CommandMessage) -> None:
        http = getattr(request, "request", None)
        user = getattr(http, "user", None)
        if isinstance(user, dict) and user.get("username"):
            self.user = str(user["username"])
        if isinstance(request, get_args(commands.OutOfBandCommand)):
            self.send("o", request)
        elif isinstance(request, commands.UpdateUIElementCommand | commands.ModelCommand):
            self.send("cu", request)
        else:
            self.send("c", request)

    def put_input(self, text: str) -> None:
        self.send("i", text)

    def close_queues(self) -> None:
        with self._lock:
            if self.conn is not None and not self.conn.closed:
                self.conn.close()


class KernelConnection:
    """The kernel's messages as marimo's ``ConnectionDistributor`` reads them.

    A limit notice from the child becomes a banner (and a log line); at EOF
    the reader is removed so the event loop does not spin on a dead socket
    until marimo's heartbeat notices the exit.
    """

    def __init__(self, conn: Connection, manager: ProcessKernelManager) -> None:
        self._conn = conn
        self._manager = manager
        self._eof = False

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def fileno(self) -> int:
        return self._conn.fileno()

    def poll(self, timeout: float = 0.0) -> bool:
        return not self._eof and not self._conn.closed and self._conn.poll(timeout)

    def recv(self) -> Any:
        try:
            message = self._conn.recv()
        except (EOFError, OSError):
            self._eof = True
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            raise EOFError from None
        if isinstance(message, tuple):
            return self._manager.notice(message)
        return message

    def close(self) -> None:
        self._conn.close()


class ProcessKernelManager(KernelManager):
    """A session's kernel as a child forked from its notebook's template."""

    def __init__(
        self,
        *,
        plan: Plan,
        queue_manager: ProcessQueueManager,
        mode: SessionMode,
        configs: Any,
        app_metadata: Any,
        config_manager: Any,
        virtual_file_storage: Any,
        redirect_console_to_browser: bool,
    ) -> None:
        del virtual_file_storage  # a child always writes shared memory
        self.plan = plan
        self.queue_manager = queue_manager
        self.mode = mode
        self.configs = configs
        self.app_metadata = app_metadata
        self.config_manager = config_manager
        self.redirect_console_to_browser = redirect_console_to_browser
        self.kernel_task: ChildProcess | None = None
        self._connection: KernelConnection | None = None

    @property
    def isolation(self) -> Isolation:
        return self.plan.pool.isolation

    async def start_kernel(self) -> None:
        spec = pickle.dumps(
            {
                "configs": self.configs,
                "app_metadata": self.app_metadata,
                "user_config": self.config_manager.get_config(hide_secrets=False),
                "redirect_console_to_browser": self.redirect_console_to_browser,
                "log_level": GLOBAL_SETTINGS.LOG_LEVEL,
                "server_pid": os.getpid(),
            }
        )
        ours, theirs = socket.socketpair()
        try:
            child = await self.plan.pool.fork(spec, theirs)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        child.on_exit = self._exited
        self.kernel_task = child
        conn = Connection(ours.detach())
        self.queue_manager.conn = conn
        self._connection = KernelConnection(conn, self)

    def describe(self) -> str:
        return (
            f"notebook {self.plan.pool.path.name}, user {self.queue_manager.user or '-'}, "
            f"session {self.plan.session_id}, pid {self.pid}"
        )

    def notice(self, message: tuple[Any, ...]) -> bytes:
        """A child's limit notice: log it, and show the tab a banner."""
        logger.warning("Cell interrupted at CELL_TIMEOUT: %s", self.describe())
        banner = BannerNotification(
            title="Cell timeout",
            description=interrupt_sentence(self.isolation),
            variant="danger",
        )
        return serialize_kernel_message(banner)

    def _exited(self, child: ChildProcess) -> None:
        if child.reason is not None:
            logger.warning(
                "Kernel process stopped by %s: %s",
                "SESSION_MEMORY_LIMIT" if child.reason == "memory" else "CELL_TIMEOUT",
                self.describe(),
            )
        elif child.exitcode not in (0, None) and not self._closing:
            logger.warning("Kernel process died (exit %s): %s", child.exitcode, self.describe())

    _closing = False

    @property
    def pid(self) -> int | None:
        return self.kernel_task.pid if self.kernel_task is not None else None

    @property
    def profile_path(self) -> str | None:
        return None

    def is_alive(self) -> bool:
        return self.kernel_task is not None and self.kernel_task.is_alive()

    def interrupt_kernel(self) -> None:
        if self.kernel_task is not None and self.kernel_task.is_alive():
            interrupt_kernel_process(self.kernel_task.pid, None)

    def close_kernel(self, *, graceful: bool = False) -> None:
        """Ask the kernel to stop; its template kills it if it has not within a grace."""
        assert self.kernel_task is not None, "kernel not started"
        self._closing = True
        self.queue_manager.put_control_request(commands.StopKernelCommand())
        self.queue_manager.close_queues()
        try:
            self.kernel_task.stop(STOP_GRACE)
        except Exception as exc:  # the template is gone, and the child with it
            logger.debug("Could not ask the template to stop %s: %s", self.pid, exc)

    @property
    def kernel_connection(self) -> Any:
        assert self._connection is not None, "connection not started"
        return self._connection


def _queue_manager(*, use_multiprocessing: bool) -> QueueManager:
    plan = _plan.get()
    if plan is None or use_multiprocessing:
        return QueueManagerImpl(use_multiprocessing=use_multiprocessing)
    plan.queue_manager = ProcessQueueManager()
    return plan.queue_manager


def _kernel_manager(**kwargs: Any) -> KernelManager:
    plan = _plan.get()
    if plan is None or plan.queue_manager is None or kwargs["mode"] != SessionMode.RUN:
        return KernelManagerImpl(**kwargs)
    kwargs.pop("queue_manager")
    return ProcessKernelManager(plan=plan, queue_manager=plan.queue_manager, **kwargs)


def _kernel_exit_info(self: Any) -> KernelExitInfo | None:
    """marimo's exit info, naming the limit when one ended the kernel."""
    info = _original_exit_info(self)
    manager = self._kernel_manager
    if info is None or not isinstance(manager, ProcessKernelManager):
        return info
    task = manager.kernel_task
    reason = getattr(task, "reason", None)
    sentence = limit_sentence(reason, manager.isolation)
    if sentence is None:
        return info
    return KernelExitInfo(exitcode=info.exitcode, cause=str(reason), message=sentence)


_original_exit_info = marimo_session.SessionImpl.kernel_exit_info


def install() -> None:
    """Have marimo's ``Session.create`` build process kernels under a plan; idempotent."""
    # marimo's private names, swapped for a plan-aware factory (marimo/ only).
    setattr(marimo_session, "QueueManagerImpl", _queue_manager)  # noqa: B010
    setattr(marimo_session, "KernelManagerImpl", _kernel_manager)  # noqa: B010
    marimo_session.SessionImpl.kernel_exit_info = _kernel_exit_info  # type: ignore[method-assign]


class IsolatedSessionManager(SessionManager):
    """marimo's session manager whose sessions fork from ``pool``."""

    pool: TemplatePool

    async def create_session(self, session_id: Any, *args: Any, **kwargs: Any) -> Any:
        token = _plan.set(Plan(pool=self.pool, session_id=str(session_id)))
        try:
            return await super().create_session(session_id, *args, **kwargs)
        finally:
            _plan.reset(token)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            self.pool.close()
