"""The kernel socket messages a notebook page's progress notice reads.

marimo 0.25.2's kernel socket sends ``{"op": ..., "data": {...}}`` frames:
``kernel-ready`` lists the cells in order (``cell_ids``; ``resumed`` on a
reconnect), ``cell-op`` carries a cell's ``status``, ``completed-run`` ends
a run, ``missing-package-alert`` names ``packages`` an import lacked.
"""

from __future__ import annotations

#: The socket below a page whose frames the notice reads.
SOCKET_ROUTE = "ws"
KERNEL_READY = "kernel-ready"
CELL_OP = "cell-op"
COMPLETED_RUN = "completed-run"
MISSING_PACKAGE = "missing-package-alert"
#: Cell statuses of a run still under way.
BUSY_STATUSES = ("queued", "running")
RUNNING_STATUS = "running"


def page_ops() -> dict[str, object]:
    """The names above, as the page's script reads them."""
    return {
        "socket": SOCKET_ROUTE,
        "ready": KERNEL_READY,
        "cell": CELL_OP,
        "completed": COMPLETED_RUN,
        "missing": MISSING_PACKAGE,
        "busy": list(BUSY_STATUSES),
        "running": RUNNING_STATUS,
    }
