"""The health endpoint for load balancers: process up, database, live sessions.

With ``KERNELS = "workers"`` it also lists the live workers with their session
counts, and is unhealthy (503) when none is alive or Redis is unreachable.

Answers 200 when the database answers a trivial query, 503 when it does not,
with the live kernel session counts either way. Who may read it is
``NOTEBOOK_HOST["HEALTH_ACCESS"]``: "public" (the default: a load balancer
cannot sign in, and the answer holds only counts), "login", "staff",
"superuser" (or a permission: the rule is parsed by
:func:`notebook_host.admission.access.parse_rule`, as ``access=`` is), or a
callable ``(request) -> bool`` (sync or async, e.g. an IP allow-list).
Refused requests get 404, so a hidden endpoint stays hidden.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from .admission.access import parse_rule
from .conf import get_config
from .hooks import call_hook
from .runtime import session_directory
from .workers.settings import enabled as workers_enabled

logger = logging.getLogger(__name__)


async def _allowed(request: HttpRequest) -> bool:
    """HEALTH_ACCESS: a named access rule (parsed as ``access=`` is), or ``(request) -> bool``."""
    value = get_config()["HEALTH_ACCESS"]
    if callable(value):
        return bool(await call_hook(value, request))
    rule = parse_rule(value, where="NOTEBOOK_HOST['HEALTH_ACCESS']")
    if rule.label == "public":
        return True  # no user lookup for a load balancer
    return await rule.allows(await request.auser(), None)


def _database() -> str | None:
    """None when the default database answers ``SELECT 1``, else the error."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", never a 500
        return f"{type(exc).__name__}: {exc}"
    finally:
        connection.close_if_unusable_or_obsolete()
    return None


@never_cache
async def health(request: HttpRequest) -> JsonResponse:
    """``{"status", "database", "sessions", ...}``; 200 healthy, 503 not."""
    if not await _allowed(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    started = time.monotonic()
    error = await sync_to_async(_database)()
    records = session_directory.directory.live()
    config = get_config()
    body: dict[str, Any] = {
        "status": "ok" if error is None else "unavailable",
        "database": "ok" if error is None else "unreachable",
        "database_ms": round((time.monotonic() - started) * 1000, 1),
        "sessions": len(records),
        "connected_sessions": sum(1 for r in records if r.sockets),
        "max_sessions": config["MAX_SESSIONS"],
    }
    if error is not None:
        logger.error("Health check: database unreachable: %s", error)
    healthy = error is None
    if workers_enabled():
        from .workers.front import cluster_health  # needs redis: only with KERNELS = "workers"

        cluster = await cluster_health()
        body.update(cluster)
        if cluster["workers_alive"] == 0:
            body["status"] = "unavailable"
            healthy = False
    return JsonResponse(body, status=200 if healthy else 503)
