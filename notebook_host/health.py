"""Health endpoints for load balancers and orchestrators: live, ready, and both.

- ``health/live/``: 200 while this process answers requests. It looks at
  nothing else (no database, Redis or worker), so a balancer or an
  orchestrator never restarts or removes a front for a fault elsewhere.
- ``health/ready/``: 200 when this process can run notebooks: the database
  answers and the kernel backend is ready (``KernelBackend.readiness``: with
  workers, Redis answers and a worker that is not draining is alive); else 503.
- ``health/``: the readiness answer with the session counts (the original
  endpoint; it keeps its fields).

Who may read them is ``NOTEBOOK_HOST["HEALTH_ACCESS"]`` (refused: 404, so a
hidden endpoint stays hidden). Answers carry counts only; worker names and
hosts and Redis error text are added for callers ``HEALTH_DETAIL_ACCESS``
admits (by default staff, or whoever HEALTH_ACCESS admits when it is not
"public"), and go to the log either way.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from .backends import kernels
from .conf import get_config
from .hooks import call_hook
from .runtime import session_directory
from .targets.access import parse_rule

logger = logging.getLogger(__name__)


async def _admits(request: HttpRequest, value: Any, name: str) -> bool:
    """A named access rule (parsed as ``access=`` is), or ``(request) -> bool``."""
    if callable(value):
        return bool(await call_hook(value, request))
    rule = parse_rule(value, where=f"NOTEBOOK_HOST[{name!r}]")
    if rule.label == "public":
        return True  # no user lookup for a load balancer
    return await rule.allows(await request.auser(), None)


async def _allowed(request: HttpRequest) -> bool:
    return await _admits(request, get_config()["HEALTH_ACCESS"], "HEALTH_ACCESS")


async def _detail_allowed(request: HttpRequest) -> bool:
    """HEALTH_DETAIL_ACCESS; None: HEALTH_ACCESS's rule, or staff when that is public."""
    config = get_config()
    value, name = config["HEALTH_DETAIL_ACCESS"], "HEALTH_DETAIL_ACCESS"
    if value is None:
        value, name = config["HEALTH_ACCESS"], "HEALTH_ACCESS"
        if value == "public":
            value = "staff"
    return await _admits(request, value, name)


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


async def _readiness(request: HttpRequest) -> tuple[dict[str, Any], bool]:
    """The database and the kernel backend: (body, ready)."""
    started = time.monotonic()
    error = await sync_to_async(_database)()
    body: dict[str, Any] = {
        "status": "ok",
        "database": "ok" if error is None else "unreachable",
        "database_ms": round((time.monotonic() - started) * 1000, 1),
    }
    ready = error is None
    if error is not None:
        logger.error("Health check: database unreachable: %s", error)
    backend = await kernels().readiness()
    body.update(backend.counts)
    ready = ready and backend.ready
    if backend.detail and await _detail_allowed(request):
        body.update(backend.detail)
    if not ready:
        body["status"] = "unavailable"
    return body, ready


@never_cache
async def live(request: HttpRequest) -> JsonResponse:
    """200 while this process serves requests; depends on nothing else."""
    if not await _allowed(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    return JsonResponse({"status": "ok"})


@never_cache
async def ready(request: HttpRequest) -> JsonResponse:
    """200 when notebooks can run here (database, Redis, a worker), else 503."""
    if not await _allowed(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    body, is_ready = await _readiness(request)
    return JsonResponse(body, status=200 if is_ready else 503)


@never_cache
async def health(request: HttpRequest) -> JsonResponse:
    """``{"status", "database", "sessions", ...}``: readiness plus session counts."""
    if not await _allowed(request):
        return JsonResponse({"detail": "Not Found"}, status=404)
    body, is_ready = await _readiness(request)
    records = session_directory.directory.live()
    body["sessions"] = len(records)
    body["connected_sessions"] = sum(1 for r in records if r.sockets)
    body["max_sessions"] = get_config()["MAX_SESSIONS"]
    return JsonResponse(body, status=200 if is_ready else 503)
