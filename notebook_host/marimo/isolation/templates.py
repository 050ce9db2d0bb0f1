"""The server's side of the templates: start, fork through, retire, close.

One :class:`Template` per notebook file version. A daemon thread reads its
answers (a fork's pid, a child's exit); everything else is a message on the
socket, so no call here blocks without a bound. A file change retires the
template: new sessions fork from a fresh one, the old one closes when its
last child has exited.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .settings import Isolation
from .wire import Wire

logger = logging.getLogger("notebook_host.isolation")

#: Seconds a fork may wait for its template to be ready (it imports on start).
READY_TIMEOUT = 60.0
#: Seconds a fork request may wait for the template's answer.
FORK_TIMEOUT = 10.0


class TemplateGone(RuntimeError):
    """The template exited; its children are gone and no fork can be made."""


class ChildProcess:
    """A forked kernel as marimo's ``ProcessLike``: its state comes from the template."""

    def __init__(self, pid: int, template: Template) -> None:
        self.pid = pid
        self.template = template
        self.exitcode: int | None = None
        #: The limit that ended it (settings.MEMORY, settings.CELL_TIMEOUT), if any.
        self.reason: str | None = None
        self.on_exit: Callable[[ChildProcess], None] | None = None
        self._exited = threading.Event()

    @property
    def native_id(self) -> int:
        """The kernel thread's native id (marimo names downloads with it): the pid."""
        return self.pid

    def is_alive(self) -> bool:
        return not self._exited.is_set()

    def exited(self, code: int, reason: str | None) -> None:
        self.exitcode, self.reason = code, reason
        self._exited.set()
        if self.on_exit is not None:
            try:
                self.on_exit(self)
            except Exception:
                logger.exception("Handling the exit of kernel process %s failed", self.pid)

    def terminate(self) -> None:
        self._signal(15)

    def kill(self) -> None:
        self._signal(9)

    def _signal(self, signum: int) -> None:
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signum)

    def join(self, timeout: float | None = None) -> None:
        self._exited.wait(timeout)

    def stop(self, grace: float) -> None:
        """Ask the template to kill this child unless it exits within ``grace`` s."""
        if self.is_alive():
            self.template.send(("stop", self.pid, grace))


class Template:
    """One template process: its socket, its reader thread, its children."""

    def __init__(self, path: Path, isolation: Isolation, modules: list[str], mtime_ns: int):
        self.path = path
        self.isolation = isolation
        self.mtime_ns = mtime_ns
        self.children: dict[int, ChildProcess] = {}
        self.retired = False
        self.dead = False
        self.ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._requests: dict[int, concurrent.futures.Future[ChildProcess]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair()
        self.wire = Wire(ours)
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "notebook_host.marimo.isolation.template",
                    str(theirs.fileno()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        self.wire.send(
            (
                "init",
                {
                    "sys_path": list(sys.path),
                    "modules": modules,
                    "memory_limit": isolation.memory_limit,
                    "cell_timeout": isolation.cell_timeout,
                    "kill_grace": isolation.kill_grace,
                },
            )
        )
        threading.Thread(target=self._read, name=f"template-{path.name}", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self.dead and self.process.poll() is None

    def send(self, message: Any, fds: tuple[int, ...] = ()) -> None:
        try:
            self.wire.send(message, fds)
        except OSError as exc:
            raise TemplateGone(f"the template of {self.path.name} is gone: {exc}") from exc

    async def fork(self, spec: bytes, sock: socket.socket) -> ChildProcess:
        """A new child running ``spec``, talking over ``sock`` (bounded waits)."""
        await asyncio.wait_for(asyncio.wrap_future(self.ready), READY_TIMEOUT)
        request_id = next(self._ids)
        answer: concurrent.futures.Future[ChildProcess] = concurrent.futures.Future()
        with self._lock:
            self._requests[request_id] = answer
        self.send(("fork", request_id, spec), (sock.fileno(),))
        return await asyncio.wait_for(asyncio.wrap_future(answer), FORK_TIMEOUT)

    def _read(self) -> None:
        try:
            while True:
                message, _ = self.wire.recv()
                self._dispatch(message)
        except (EOFError, OSError):
            pass
        finally:
            self._gone()

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            logger.info("Template for %s ready (pid %s)", self.path.name, message[1])
            self.ready.set_result(message[1])
        elif kind == "forked":
            child = ChildProcess(message[2], self)
            with self._lock:
                self.children[child.pid] = child
                answer = self._requests.pop(message[1], None)
            if answer is not None:
                answer.set_result(child)
        elif kind == "error":
            with self._lock:
                answer = self._requests.pop(message[1], None)
            if answer is not None:
                answer.set_exception(TemplateGone(message[2]))
        elif kind == "exit":
            with self._lock:
                gone = self.children.pop(message[1], None)
                idle = self.retired and not self.children
            if gone is not None:
                gone.exited(message[2], message[3])
            if idle:
                self.close()

    def _gone(self) -> None:
        """The template exited: its children died with it (PR_SET_PDEATHSIG)."""
        self.dead = True
        error = TemplateGone(f"the template of {self.path.name} exited")
        with self._lock:
            children, self.children = list(self.children.values()), {}
            requests, self._requests = list(self._requests.values()), {}
        if not self.ready.done():
            self.ready.set_exception(error)
        for answer in requests:
            answer.set_exception(error)
        for child in children:
            child.exited(-9, None)
        self.wire.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def close(self) -> None:
        """Close the socket: the template kills its children and exits."""
        with contextlib.suppress(OSError):
            self.wire.sock.shutdown(socket.SHUT_RDWR)


class TemplatePool:
    """The current template of one notebook, refreshed when the file changes."""

    def __init__(self, path: Path, isolation: Isolation, modules: Callable[[], list[str]]):
        self.path = path
        self.isolation = isolation
        self._modules = modules
        self._current: Template | None = None
        self._all: list[Template] = []
        self._lock = threading.Lock()

    def template(self) -> Template:
        """The template new sessions fork from (started, or replaced if stale)."""
        try:
            mtime_ns = self.path.stat().st_mtime_ns
        except OSError:
            mtime_ns = -1
        with self._lock:
            current = self._current
            if current is not None and current.alive and current.mtime_ns == mtime_ns:
                return current
            if current is not None:
                current.retired = True
                if not current.children:
                    current.close()
            self._all = [t for t in self._all if t.alive]
            self._current = Template(self.path, self.isolation, self._modules(), mtime_ns)
            self._all.append(self._current)
            return self._current

    async def fork(self, spec: bytes, sock: socket.socket) -> ChildProcess:
        return await self.template().fork(spec, sock)

    def pids(self) -> list[int]:
        """Every live kernel process of this notebook (all its templates' children)."""
        with self._lock:
            return [pid for t in self._all for pid in list(t.children)]

    def template_pids(self) -> list[int]:
        with self._lock:
            return [t.process.pid for t in self._all if t.alive]

    def close(self) -> None:
        """Close every template (their children are killed); idempotent."""
        with self._lock:
            templates, self._all, self._current = self._all, [], None
        for template in templates:
            template.close()
