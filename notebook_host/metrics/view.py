"""``<include>/metrics/``: this front's metrics in Prometheus' text format.

Who may read it is ``NOTEBOOK_HOST["METRICS_ACCESS"]`` (an access rule as
``HEALTH_ACCESS`` takes: "staff" by default, never public unless said so),
or whoever sends ``Authorization: Bearer <METRICS_TOKEN>`` (Prometheus'
``authorization`` scrape option). Refused requests get 404, as the health
endpoint's do, and a warning in the log says why.
"""

from __future__ import annotations

import hmac
import logging
import os

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from ..conf import get_config
from ..hooks import call_hook
from ..runtime import shutdown
from ..targets.access import parse_rule
from . import record

logger = logging.getLogger(__name__)

#: Environment variable that turns on prometheus_client's multiprocess mode.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Shortest METRICS_TOKEN accepted: it is a password.
MIN_TOKEN_LENGTH = 16


def metrics_token() -> str | None:
    """``METRICS_TOKEN``, or a clear error when it is not a long enough string."""
    token = get_config()["METRICS_TOKEN"]
    if token is None:
        return None
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH or token != token.strip():
        raise ImproperlyConfigured(
            "NOTEBOOK_HOST['METRICS_TOKEN'] must be a string of at least "
            f"{MIN_TOKEN_LENGTH} characters without surrounding spaces (or None), got "
            f"{type(token).__name__} of length {len(token) if isinstance(token, str) else '-'}."
        )
    return token


def bearer_matches(authorization: str | None, token: str | None) -> bool:
    """True when an ``Authorization`` header carries ``Bearer <token>``."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


async def _allowed(request: HttpRequest) -> bool:
    if bearer_matches(request.headers.get("Authorization"), metrics_token()):
        return True
    value = get_config()["METRICS_ACCESS"]
    if callable(value):
        return bool(await call_hook(value, request))
    rule = parse_rule(value, where="NOTEBOOK_HOST['METRICS_ACCESS']")
    if rule.label == "public":
        return True
    return await rule.allows(await request.auser(), None)


def exposition() -> bytes:
    """The text Prometheus reads: every process of this host in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead() -> None:
    """In multiprocess mode, drop this process's gauges (a stopped process holds none)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream


async def _at_shutdown(timeout: float) -> None:
    mark_process_dead()


shutdown.on_shutdown(_at_shutdown, order=shutdown.KERNELS + 1)


@never_cache
async def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics, to staff or the bearer token (see the module docstring)."""
    if not await _allowed(request):
        reason = "wrong bearer token" if request.headers.get("Authorization") else "not allowed"
        logger.warning("Metrics refused to %s: %s", request.META.get("REMOTE_ADDR"), reason)
        return JsonResponse({"detail": "Not Found"}, status=404)
    record.local_sessions()
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
