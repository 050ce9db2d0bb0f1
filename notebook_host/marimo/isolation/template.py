"""The template: one warm, single-threaded process per notebook that forks kernels.

Started by the server with ``python -m notebook_host.marimo.isolation.template
FD`` (never forked from daphne or a worker, which run threads). It imports
marimo's kernel and the modules the notebook imports, freezes them out of the
garbage collector so children share those pages, then forks one child per
session on request. It reaps its children, reports each exit, and enforces
the limits from outside the child (a child stuck in C code cannot refuse):
memory over ``memory_limit`` MiB beyond the template's own, or a cell still
running ``kill_grace`` seconds after its interrupt, is killed. When the
server's end of the socket closes (the server exited or was killed), every
child is killed and the template exits.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import mmap
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import marimo
from marimo._output.formatters.formatters import register_formatters

from ..entry_points import read_executor_plugins
from .child import run
from .settings import BUSY, CELL_TIMEOUT, MEMORY
from .wire import Wire

#: Seconds between the template's checks of its children's memory and cells.
TICK = 0.2
_PAGE = os.sysconf("SC_PAGE_SIZE")

#: Modules a kernel loads on start or on its first run; imported once here,
#: shared by children (each one a child imports itself is private to it).
KERNEL_MODULES = (
    "marimo",
    "marimo._runtime.runtime",
    "marimo._runtime.kernel_lifecycle",
    "marimo._runtime.runner.hooks_on_finish",
    "marimo._runtime.runner.hooks_preparation",
    "marimo._save.manifest",
    "marimo._save.signing_policy",
    "marimo._output.formatters.formatters",
    "marimo._messaging.notification",
    "marimo._plugins.ui",
    "getpass",
    "termios",
    "unicodedata",
    "webbrowser",
)


def rss(pid: int | str) -> int:
    """Resident bytes of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def warm_markdown() -> None:
    """Render markdown once: marimo builds its converter, with every extension, on first use.

    Built here, the converter and the extensions' modules (an emoji index,
    pygments) are shared by every child instead of built again in each.
    """
    with contextlib.suppress(Exception):
        marimo.md("**warm** `up`").text  # noqa: B018 - rendering is the point


@dataclass
class Child:
    pid: int
    busy: mmap.mmap
    baseline: int
    reason: str | None = None
    stop_at: float | None = None


@dataclass
class Template:
    wire: Wire
    settings: dict[str, Any]
    children: dict[int, Child] = field(default_factory=dict)

    def warm(self) -> list[str]:
        """Import marimo's kernel and the notebook's modules; freeze them."""
        sys.path[:] = self.settings["sys_path"]
        loaded = []
        for name in (*KERNEL_MODULES, *self.settings["modules"]):
            try:
                importlib.import_module(name)
                loaded.append(name)
            except BaseException:
                continue
        register_formatters()
        read_executor_plugins()
        warm_markdown()
        gc.collect()
        gc.freeze()
        return loaded

    def fork(self, request_id: int, spec: bytes, fds: list[int]) -> None:
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.wire.send(("error", request_id, f"expected 1 socket, got {len(fds)}"))
            return
        busy = mmap.mmap(-1, BUSY.size)
        baseline = rss("self")
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is its own process
            self._become_child(fds[0], spec, busy)
        os.close(fds[0])
        self.children[pid] = Child(pid=pid, busy=busy, baseline=baseline)
        self.wire.send(("forked", request_id, pid))

    def _become_child(self, fd: int, spec: bytes, busy: mmap.mmap) -> None:
        code = 1
        try:
            for other in self.children.values():
                other.busy.close()
            self.children.clear()
            self.wire.close()
            code = run(fd, spec, busy, self.settings)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)

    def stop(self, pid: int, grace: float) -> None:
        """Kill a closed session's child if it has not exited within ``grace``."""
        child = self.children.get(pid)
        if child is not None and child.stop_at is None:
            child.stop_at = time.monotonic() + grace

    def kill(self, child: Child, reason: str | None) -> None:
        if child.reason is None:
            child.reason = reason
        for send in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                send(child.pid, signal.SIGKILL)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            child.busy.close()
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            with contextlib.suppress(OSError):
                self.wire.send(("exit", pid, code, child.reason))

    def watch(self) -> None:
        """Kill children over their memory, a cell past its grace, a stop past due."""
        now = time.monotonic()
        limit = self.settings["memory_limit"]
        timeout = self.settings["cell_timeout"]
        grace = self.settings["kill_grace"]
        for child in list(self.children.values()):
            if child.reason is not None:
                continue
            if child.stop_at is not None and now > child.stop_at:
                self.kill(child, None)
            elif limit is not None and rss(child.pid) - child.baseline > limit * 1024 * 1024:
                self.kill(child, MEMORY)
            elif timeout is not None:
                (started,) = BUSY.unpack_from(child.busy)
                if started and now - started > timeout + grace:
                    self.kill(child, CELL_TIMEOUT)

    def serve(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(wake_w)
        selector = selectors.DefaultSelector()
        selector.register(self.wire.sock, selectors.EVENT_READ)
        selector.register(wake_r, selectors.EVENT_READ)
        try:
            while True:
                ready = selector.select(timeout=TICK)
                if any(key.fileobj is self.wire.sock for key, _ in ready):
                    self.handle()
                    while self.wire.pending():
                        self.handle()
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                self.reap()
                self.watch()
        except EOFError:
            pass
        finally:
            for child in list(self.children.values()):
                self.kill(child, None)
            deadline = time.monotonic() + 2.0
            while self.children and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.01)

    def handle(self) -> None:
        message, fds = self.wire.recv()
        kind = message[0]
        if kind == "fork":
            self.fork(message[1], message[2], fds)
            return
        for fd in fds:  # only a fork carries a socket
            os.close(fd)
        if kind == "stop":
            self.stop(message[1], message[2])


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: python -m notebook_host.marimo.isolation.template FD", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's ^C is the server's to handle
    wire = Wire(socket.socket(fileno=int(argv[1])))
    try:
        message, _ = wire.recv()
    except EOFError:
        return 0
    if message[0] != "init":
        print(f"template: expected init, got {message[0]!r}", file=sys.stderr)
        return 2
    template = Template(wire=wire, settings=message[1])
    loaded = template.warm()
    wire.send(("ready", os.getpid(), loaded))
    template.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
