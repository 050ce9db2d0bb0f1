"""Checks of a cluster's deployment: packages, layer capacity, Redis policy, shared key.

- E106: the core layer's ``capacity`` is too small for the sessions a worker
  takes. Every process reads one Redis list for all its sockets, so a burst
  of changes overflows it; channels_redis then drops messages, and sockets
  close on the gap.
- E107: ``KERNELS = "workers"`` without ``channels_redis`` or ``redis``
  importable (the ``[workers]`` extra).
- W007: channels_redis' own core layer, which drops a message when a socket
  closes while its receive is popping for the others of its process;
  :class:`~notebook_host.workers.layer.CoreChannelLayer` does not.
- E108: Redis evicts keys (``maxmemory-policy`` other than ``noeviction``).
  Every key of the cluster has a TTL, so volatile policies evict heartbeats
  and sessions first, silently.
- W004/W005: this process's ``SECRET_KEY`` or versions differ from those the
  last process to start recorded in Redis (owner keys are HMACs under the
  key; a front and a worker of different versions may not understand
  each other).

E108, W004 and W005 read Redis: they say nothing when it cannot be reached.
Fronts log them at start-up (:func:`log_at_startup`); ``notebook_worker``
runs them as system checks and refuses to start on an error.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import importlib.metadata
import json
import logging
from typing import Any, cast

from django.conf import settings as django_settings
from django.core.checks import CheckMessage, Error, Warning, register

from . import settings

logger = logging.getLogger(__name__)

STOCK_CORE_LAYER = "channels_redis.core.RedisChannelLayer"
#: Messages of headroom per session a worker takes (a change sends several frames).
MESSAGES_PER_SESSION = 10
#: Where the last process to start records its key fingerprint and versions.
FINGERPRINT_KEY = "notebook_host:fingerprint"
FINGERPRINT_TTL = 30 * 24 * 3600
#: Seconds a check may wait for Redis.
REDIS_CHECK_TIMEOUT = 1.0
VERSIONED = ("notebook_host", "marimo", "django", "channels", "channels_redis")


def missing_packages() -> list[str]:
    """The packages of the ``[workers]`` extra that fail to import."""
    missing = []
    for name in ("channels_redis", "redis"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def needed_capacity() -> int:
    return max(100, MESSAGES_PER_SESSION * settings.default_capacity())


def layer_capacity() -> int | None:
    """The core layer's capacity for a process's channel; None for another layer."""
    layer = settings.layer_config()
    if layer.get("BACKEND") not in settings.CORE_LAYERS:
        return None
    from channels_redis.core import RedisChannelLayer  # optional: E107 when missing

    config = {k: v for k, v in (layer.get("CONFIG") or {}).items() if k != "hosts"}
    return int(RedisChannelLayer(**config).get_capacity("specific.check!"))


def package_problems() -> list[CheckMessage]:
    """E107, E106 and W007: what can be told without reaching Redis."""
    if not settings.enabled():
        return []
    missing = missing_packages()
    if missing:
        return [
            Error(
                "NOTEBOOK_HOST['KERNELS'] = 'workers' needs "
                + " and ".join(missing)
                + ", which cannot be imported.",
                hint="Install notebook_host with its workers extra: "
                "pip install 'notebook_host[workers]'.",
                id="notebook_host.E107",
            )
        ]
    capacity, needed = layer_capacity(), needed_capacity()
    if capacity is not None and capacity < needed:
        return [
            Error(
                f"The core channel layer's capacity ({capacity}) is too small for workers of "
                f"{settings.default_capacity()} sessions: a burst of changes overflows it, and "
                "sockets close with 4511 (message lost).",
                hint=f"Set CHANNEL_LAYERS['default']['CONFIG']['capacity'] to {needed} or more, "
                "or use channels_redis.pubsub.RedisPubSubChannelLayer.",
                id="notebook_host.E106",
            )
        ]
    if settings.layer_config().get("BACKEND") == STOCK_CORE_LAYER:
        return [
            Warning(
                "channels_redis.core.RedisChannelLayer drops a message when a socket closes "
                "while its receive is fetching messages for the other sockets of its process: "
                "another page then waits for an output that never comes.",
                hint="Set CHANNEL_LAYERS['default']['BACKEND'] to "
                f"{settings.CORE_LAYERS[0]!r}, the same layer without that loss.",
                id="notebook_host.W007",
            )
        ]
    return []


def fingerprint() -> dict[str, str]:
    """This process's key (an HMAC of a constant, never the key) and versions."""
    key = hmac.new(
        str(django_settings.SECRET_KEY).encode(), b"notebook_host cluster", hashlib.sha256
    ).hexdigest()[:16]
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "?"
    return {"key": key, "versions": json.dumps(versions, sort_keys=True)}


def redis_problems(record: bool = False) -> list[CheckMessage]:
    """E108, W004 and W005, read from Redis; ``record``: store this process's fingerprint."""
    if not settings.enabled() or missing_packages() or settings.problems():
        return []
    import redis  # optional: E107 when missing

    try:
        client = redis.Redis.from_url(
            settings.redis_url(),
            socket_timeout=REDIS_CHECK_TIMEOUT,
            socket_connect_timeout=REDIS_CHECK_TIMEOUT,
        )
        with client:
            # redis-py types the sync and asyncio clients alike (Awaitable | Any).
            memory = cast(dict[str, Any], client.info("memory"))
            policy = str(memory.get("maxmemory_policy", "noeviction"))
            raw = cast(bytes | None, client.get(FINGERPRINT_KEY))
            ours = fingerprint()
            if record:
                client.set(FINGERPRINT_KEY, json.dumps(ours), ex=FINGERPRINT_TTL)
    except (redis.RedisError, OSError) as exc:
        logger.info("Cluster checks skipped: Redis unreachable (%s)", exc)
        return []
    found: list[CheckMessage] = []
    if policy != "noeviction":
        found.append(
            Error(
                f"Redis runs with maxmemory-policy {policy}: it evicts the cluster's heartbeats "
                "and sessions (each key has a TTL) when memory runs short, silently.",
                hint="Set maxmemory-policy noeviction (deploy/redis-notebook-host.conf).",
                id="notebook_host.E108",
            )
        )
    theirs = json.loads(raw) if raw else ours
    if theirs.get("key") != ours["key"]:
        found.append(
            Warning(
                "This process's SECRET_KEY differs from the one the last process of this "
                "cluster started with: sessions opened through one front are refused by another.",
                hint="Give every front and worker the same SECRET_KEY (one environment file).",
                id="notebook_host.W004",
            )
        )
    if theirs.get("versions") != ours["versions"]:
        found.append(
            Warning(
                f"This process runs {ours['versions']}, the last process of this cluster "
                f"to start ran {theirs.get('versions')}.",
                hint="Run the same versions everywhere; upgrade in the order of "
                "docs/operations.md (migrations, fronts, workers).",
                id="notebook_host.W005",
            )
        )
    return found


@register()
def check_cluster(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """notebook_host.E106-E108, W004, W005, W007 (KERNELS = "workers" only)."""
    return [*package_problems(), *redis_problems()]


def log_at_startup(record: bool = True) -> list[CheckMessage]:
    """Log every cluster problem once, when a front or worker starts; returns them."""
    found = [*package_problems(), *redis_problems(record=record)]
    for message in found:
        level = logging.ERROR if message.is_serious() else logging.WARNING
        logger.log(level, "%s: %s %s", message.id, message.msg, message.hint or "")
    return found
