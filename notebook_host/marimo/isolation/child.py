"""A forked kernel: marimo's own run-mode kernel loop in a process of its own.

The template forks and calls :func:`run`. The session's socket carries the
server's commands in (tagged, read by a thread into marimo's queues) and the
kernel's messages out; marimo's subprocess bootstrap (``is_ipc``) gives the
kernel a process group, SIGINT interrupts and a poller of the server's pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import pickle
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from marimo._runtime import commands
from marimo._runtime.runner import hooks_post_execution, hooks_pre_execution
from marimo._runtime.runtime import launch_kernel

from .settings import BUSY

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """SIGKILL this process when the template that forked it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class StreamOut:
    """marimo's stream queue in the child: each message goes to the server."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        with self._lock, contextlib.suppress(OSError):
            self._conn.send(obj)

    def put_nowait(self, obj: Any) -> None:
        self.put(obj)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        raise queue.Empty  # the server reads this stream, never the kernel

    def get_nowait(self) -> Any:
        raise queue.Empty

    def empty(self) -> bool:
        return True


def read_commands(conn: Connection, queues: dict[str, queue.Queue[Any]], stop: Any) -> None:
    """Move the server's tagged commands into marimo's queues; EOF stops the kernel."""
    while True:
        try:
            tag, obj = conn.recv()
        except (EOFError, OSError):
            queues["c"].put(stop)
            return
        if tag == "cu":  # a UI value: the batch queue first, so the kernel can merge it
            queues["u"].put(obj)
            queues["c"].put(obj)
        else:
            queues[tag].put(obj)


def watch_cells(busy: mmap.mmap, out: StreamOut, timeout: float) -> None:
    """Interrupt a cell that runs past ``timeout`` (the template kills it later)."""
    interrupted = 0.0
    while True:
        time.sleep(min(0.2, timeout / 4))
        (started,) = BUSY.unpack_from(busy)
        if started and started != interrupted and time.monotonic() - started > timeout:
            interrupted = started
            out.put(("limit", "cell_timeout"))
            os.kill(os.getpid(), signal.SIGINT)


def track_cells(busy: mmap.mmap) -> None:
    """Write when the running cell started into memory the template reads."""

    def started(cell: Any, ctx: Any) -> None:
        BUSY.pack_into(busy, 0, time.monotonic())

    def finished(cell: Any, ctx: Any, result: Any) -> None:
        BUSY.pack_into(busy, 0, 0.0)

    hooks_pre_execution.PRE_EXECUTION_HOOKS.append(started)
    hooks_post_execution.FINALIZATION_HOOKS.append(finished)


def run(fd: int, spec_bytes: bytes, busy: mmap.mmap, settings: dict[str, Any]) -> int:
    """Run one session's kernel; the exit status of the child."""
    die_with_parent()
    if os.getppid() == 1:  # the template died between fork and prctl
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    spec = pickle.loads(spec_bytes)
    conn = Connection(fd)
    queues: dict[str, queue.Queue[Any]] = {
        "c": queue.Queue(),
        "u": queue.Queue(),
        "o": queue.Queue(),
        "i": queue.Queue(maxsize=1),
    }
    out = StreamOut(conn)
    threading.Thread(
        target=read_commands,
        args=(conn, queues, commands.StopKernelCommand()),
        name="commands",
        daemon=True,
    ).start()
    track_cells(busy)
    if settings["cell_timeout"] is not None:
        threading.Thread(
            target=watch_cells,
            args=(busy, out, settings["cell_timeout"]),
            name="cell-timeout",
            daemon=True,
        ).start()
    launch_kernel(
        queues["c"],
        queues["u"],
        queues["o"],
        queues["i"],
        out,
        None,  # no socket address: the stream is `out`
        False,  # run mode
        spec["configs"],
        spec["app_metadata"],
        spec["user_config"],
        "shared_memory",  # the server's /@file route reads what the kernel writes
        spec["redirect_console_to_browser"],
        None,
        None,
        spec["log_level"],
        True,  # is_ipc: marimo's subprocess bootstrap (process group, SIGINT, poller)
        spec["server_pid"],
    )
    return 0
