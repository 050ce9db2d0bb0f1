"""The isolation settings a notebook's app is built with, and the limits' texts.

Nothing here imports marimo or Django, so the template process, the conf
layer and the checks can all read it.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass

THREAD = "thread"
PROCESS = "process"
MODES = (THREAD, PROCESS)

#: Why a child was ended by its template (sent with its exit).
MEMORY = "memory"
CELL_TIMEOUT = "cell_timeout"
#: Where a child writes when its running cell started (0.0: no cell runs); its template reads it.
BUSY = struct.Struct("d")
#: Seconds between a cell's interrupt and its kill when it does not stop.
KILL_GRACE = 3.0


@dataclass(frozen=True)
class Isolation:
    """Where a notebook's kernels run and what each may use."""

    mode: str = THREAD
    #: MiB a session may add over its template's memory; None: no limit.
    memory_limit: int | None = None
    #: Seconds one cell may run; None: no limit.
    cell_timeout: float | None = None
    kill_grace: float = KILL_GRACE

    @property
    def processes(self) -> bool:
        return self.mode == PROCESS


def supported() -> bool:
    """Forked process kernels need Linux (fork, prctl, /proc)."""
    return sys.platform.startswith("linux")


def limit_sentence(reason: str | None, isolation: Isolation) -> str | None:
    """What a tab's banner says when a limit ended its kernel, else None."""
    if reason == MEMORY:
        return (
            f"This session used more than its memory limit "
            f"(SESSION_MEMORY_LIMIT = {isolation.memory_limit} MiB) and was stopped. "
            "Reload the page for a fresh kernel."
        )
    if reason == CELL_TIMEOUT:
        return (
            f"A cell ran longer than CELL_TIMEOUT ({isolation.cell_timeout:g} s) and did not "
            "stop when interrupted, so this session was stopped. "
            "Reload the page for a fresh kernel."
        )
    return None


def interrupt_sentence(isolation: Isolation) -> str:
    """The banner of a cell interrupted at CELL_TIMEOUT (its session lives on)."""
    return (
        f"A cell ran longer than CELL_TIMEOUT ({isolation.cell_timeout:g} s) and was interrupted."
    )
