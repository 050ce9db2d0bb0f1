"""marimo's plugin entry points, read once per process instead of on every cell run.

Server processes apply it at start (:func:`.patches.initialise`); a process
kernels' template applies it and reads the executor group before it forks,
so no child reads package metadata at all.
"""

from __future__ import annotations

import threading
from typing import Any

from marimo._entrypoints import registry as entrypoints
from marimo._runtime.executor.evaluator import resolve_executor

__all__ = ["look_up_entry_points_once", "read_executor_plugins"]


def look_up_entry_points_once() -> None:
    """Read each group of marimo's plugin entry points once per process.

    marimo 0.25.2 asks for its ``marimo.cell.executor`` plugins on every cell
    run (``resolve_executor`` -> ``importlib.metadata.entry_points()``), which
    reads every installed package's metadata, a large share of the CPU of a
    widget change (docs/performance.md). Packages installed under a running
    server are not picked up by marimo's other plugin registries either, so
    a plugin added later needs a restart, as before for the middleware ones.
    """
    original = entrypoints.get_entry_points
    if getattr(original, "_notebook_host", False):
        return
    found: dict[str, Any] = {}
    lock = threading.Lock()

    def get_entry_points(group: Any) -> Any:
        with lock:
            if group not in found:
                found[group] = original(group)
            return found[group]

    get_entry_points._notebook_host = True  # type: ignore[attr-defined]
    entrypoints.get_entry_points = get_entry_points


def read_executor_plugins() -> None:
    """Read the group every cell run asks for, so that forks inherit the answer."""
    look_up_entry_points_once()
    resolve_executor()
