"""The health endpoint for load balancers: process up, database, live sessions.

With ``KERNELS = "workers"`` it also lists the live workers with their session
counts, and is unhealthy (503) when none is alive or Redis is unreachable.

Answers 200 when the database answers a trivial query, 503 when it does not,
with the live kernel session counts either way. Who may read it is
``NOTEBOOK_HOST["HEALTH_ACCESS"]``: "public" (the default: a load balancer
cannot sign in, and the answer holds only counts), "login", "staff",
"superuser", or a callable ``(request) -> bool`` (sync or async, e.g. an IP
allow-list). Refused requests get 404, so a hidden endpoint stays hidden.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from .conf import get_config
from .hooks import call_hook
from .runtime import session_directory
from .workers.settings import enabled as workers_enabled

logger = logging.getLogger(__name__)

_RULES = ("public", "login", "staff", "superuser")


async def _allowed(request: HttpRequest) -> bool:
    rule = get_config()["HEALTH_ACCESS"]
    if callable(rule):
        return bool(await call_hook(rule, request))
    if rule not in _RULES:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['HEALTH_ACCESS'] must be one of {', '.join(_RULES)} "
            f"or a callable (request) -> bool, got {rule!r}."
        )
    if rule == "public":
        return True
    user = await request.auser()
    if not (user.is_authenticated and user.is_active):
        return False
    if rule == "staff":
        return bool(user.is_staff or user.is_superuser)
    if rule == "superuser":
        return bool(user.is_superuser)
    return True


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
