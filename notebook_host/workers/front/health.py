"""The cluster's part of the health views: live workers and their sessions."""

from __future__ import annotations

import logging
from typing import Any

from .. import state

logger = logging.getLogger(__name__)


async def cluster_health() -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts of live workers and their sessions, and the detail (names, hosts, errors).

    The health views show the detail only to callers HEALTH_DETAIL_ACCESS admits.
    """
    try:
        alive = await state.workers()
    except state.ClusterUnavailable as exc:
        logger.error("Health check: %s", exc)
        counts = {"redis": "unreachable", "workers_alive": 0, "workers_ready": 0}
        return counts | {"worker_sessions": 0, "worker_capacity": 0}, {"redis_error": exc.detail}
    counts = {
        "redis": "ok",
        "workers_alive": len(alive),
        "workers_ready": sum(1 for w in alive if not w.draining),
        "worker_sessions": sum(w.sessions for w in alive),
        "worker_capacity": sum(w.capacity for w in alive if not w.draining),
    }
    workers = [
        {
            "name": w.name,
            "sessions": w.sessions,
            "idle": w.idle,
            "capacity": w.capacity,
            "draining": w.draining,
            "host": w.host,
        }
        for w in alive
    ]
    return counts, {"workers": workers}
