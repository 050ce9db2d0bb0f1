"""Every metric notebook_host records, and the one-line calls that record them.

The transports, the worker and the Redis state call the functions below
where an event happens; nothing else touches ``prometheus_client``. On a
widget change's path the cost is a dictionary write (the POST) and a
dictionary lookup per socket frame, with one histogram observation when the
change's output went out.

With ``PROMETHEUS_MULTIPROC_DIR`` set (several processes behind one
endpoint, docs/metrics.md) prometheus_client keeps each process's values in
that folder; gauges are per process and summed over live processes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from ..marimo import kernel_logs
from ..marimo.protocol import FRAME_CELL_IDLE, FRAME_KERNEL_READY, FRAME_RECONNECTED
from ..runtime import session_directory
from .labels import notebook_label, page_of_socket

SESSIONS_OPEN = Gauge(
    "notebook_host_sessions_open",
    "Kernel sessions held by this process: connected (a socket is open) or "
    "waiting (no socket, kept for SESSION_TTL for a reconnect).",
    ["notebook", "state"],
    multiprocess_mode="livesum",
)
SESSIONS_STARTED = Counter(
    "notebook_host_sessions_started",
    "Kernel sessions started (a kernel answered kernel-ready).",
    ["notebook"],
)
SESSIONS_REFUSED = Counter(
    "notebook_host_sessions_refused",
    "Kernel sockets (and pages over a limit) refused, by reason.",
    ["reason"],
)
KERNEL_START = Histogram(
    "notebook_host_kernel_start_seconds",
    "From a kernel socket's arrival to marimo's kernel-ready frame.",
    ["notebook"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
WIDGET_CHANGE = Histogram(
    "notebook_host_widget_change_seconds",
    "From a widget change's POST to the frame that ends the cells it ran.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CELL_ERRORS = Counter(
    "notebook_host_cell_errors",
    "Cell errors logged under notebook_host.kernel.cells.",
    ["notebook"],
)
WORKER_CAPACITY = Gauge(
    "notebook_host_worker_capacity",
    "Kernel sessions this worker takes.",
    ["worker"],
    multiprocess_mode="liveall",
)
WORKER_SESSIONS = Gauge(
    "notebook_host_worker_sessions",
    "Kernel sessions on this worker: connected, or idle (no socket).",
    ["worker", "state"],
    multiprocess_mode="liveall",
)
WORKER_DRAINING = Gauge(
    "notebook_host_worker_draining",
    "1 while this worker drains (SIGTERM) and takes no new session.",
    ["worker"],
    multiprocess_mode="liveall",
)
LAYER_GAPS = Counter(
    "notebook_host_layer_gaps",
    "Messages found missing between a front and a worker (the socket restarts).",
    ["side"],
)
LAYER_ERRORS = Counter(
    "notebook_host_layer_errors",
    "Channel layer sends or receives that failed (full, Redis down, too slow).",
    ["op"],
)
REDIS_ERRORS = Counter(
    "notebook_host_redis_errors",
    "Calls to Redis (session directory, limits, heartbeats) that failed or timed out.",
)

#: Connected and waiting session states of ``notebook_host_sessions_open``.
CONNECTED, WAITING = "connected", "waiting"
#: Pending starts or changes kept per process; past this the oldest are dropped.
MAX_PENDING = 10_000
#: A change not answered within this many seconds is not observed.
STALE_SECONDS = 300.0
#: Kernel API operations that are widget changes.
CHANGE_OPS = ("set_ui_element_value", "set_model_value")

_starting: dict[str, float] = {}
_changes: dict[str, float] = {}
_labels: dict[str, str] = {}
_shown: set[tuple[str, str]] = set()


def _put(pending: dict[str, Any], key: str, value: Any) -> None:
    if len(pending) >= MAX_PENDING:
        pending.pop(next(iter(pending)))
    pending[key] = value


# -- sessions -----------------------------------------------------------------------


def socket_opened(session_id: str | None, socket_path: str) -> None:
    """A kernel socket was handed to marimo: its start is timed until kernel-ready."""
    if not session_id:
        return
    _put(_labels, session_id, notebook_label(page_of_socket(socket_path)))
    _put(_starting, session_id, time.monotonic())


def session_refused(reason: str) -> None:
    SESSIONS_REFUSED.labels(reason).inc()


def frame_out(session_id: str | None, text: str | None) -> None:
    """A frame marimo sent to a browser: ends a kernel start or a widget change."""
    if not text or not session_id:
        return
    if _starting:
        started = _starting.get(session_id)
        if started is not None and text.startswith((FRAME_KERNEL_READY, FRAME_RECONNECTED)):
            del _starting[session_id]
            if text.startswith(FRAME_KERNEL_READY):
                label = _labels.get(session_id, "other")
                KERNEL_START.labels(label).observe(time.monotonic() - started)
                SESSIONS_STARTED.labels(label).inc()
    if _changes:
        posted = _changes.get(session_id)
        if posted is not None and FRAME_CELL_IDLE in text:
            del _changes[session_id]
            elapsed = time.monotonic() - posted
            if elapsed < STALE_SECONDS:
                WIDGET_CHANGE.observe(elapsed)


def change_posted(session_id: str | None, path: str) -> None:
    """A kernel API call of a session: a widget change is timed until its cells end."""
    if session_id and path.endswith(CHANGE_OPS):
        _put(_changes, session_id, time.monotonic())


def sessions(connected: Iterable[str], waiting: Iterable[str]) -> None:
    """Set this process's open sessions, by notebook and state."""
    counts: dict[tuple[str, str], int] = {}
    present: set[str] = set()
    for state, ids in ((CONNECTED, connected), (WAITING, waiting)):
        for session_id in ids:
            if session_id in present:
                continue
            present.add(session_id)
            key = (_labels.get(session_id, "other"), state)
            counts[key] = counts.get(key, 0) + 1
    for key in _shown - set(counts):
        SESSIONS_OPEN.labels(*key).set(0)
    for key, count in counts.items():
        SESSIONS_OPEN.labels(*key).set(count)
    _shown.update(counts)
    for gone in [sid for sid in _labels if sid not in present and sid not in _starting]:
        del _labels[gone]


def local_sessions() -> None:
    """This process's local kernels (KERNELS = "local") into the sessions gauge."""
    live = session_directory.directory.live()
    sessions(
        (r.session_id for r in live if r.sockets), (r.session_id for r in live if not r.sockets)
    )


def worker_state(
    name: str, capacity: int, connected: set[str], alive: set[str], draining: bool
) -> None:
    """A worker's load, each heartbeat: capacity, sessions, draining."""
    WORKER_CAPACITY.labels(name).set(capacity)
    WORKER_SESSIONS.labels(name, CONNECTED).set(len(connected & alive))
    WORKER_SESSIONS.labels(name, "idle").set(len(alive - connected))
    WORKER_DRAINING.labels(name).set(1 if draining else 0)
    sessions(connected & alive, alive - connected)


# -- the cluster --------------------------------------------------------------------


def layer_gap(side: str) -> None:
    LAYER_GAPS.labels(side).inc()


def layer_error(op: str) -> None:
    LAYER_ERRORS.labels(op).inc()


def redis_error() -> None:
    REDIS_ERRORS.inc()


def _cell_error(context: dict[str, Any]) -> None:
    CELL_ERRORS.labels(notebook_label(context.get("notebook") or "")).inc()


kernel_logs.listen(_cell_error)
