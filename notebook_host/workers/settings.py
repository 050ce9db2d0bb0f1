"""The settings of kernels in worker processes, validated with clear errors.

``NOTEBOOK_HOST["KERNELS"]`` is "local" (default: kernels are threads of the
daphne that served the page) or "workers". With "workers" the channel layer
must be channels_redis (core or pub/sub), and the shared state lives in
``NOTEBOOK_HOST["REDIS_URL"]``, by default the layer's first host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from ..backends import backend_class
from ..conf import get_config

KERNEL_MODES = ("local", "workers")
#: channels_redis' core layer, with notebook_host's fix of its cancelled receive first.
CORE_LAYERS = (
    "notebook_host.workers.layer.CoreChannelLayer",
    "channels_redis.core.RedisChannelLayer",
)
LAYER_BACKENDS = (*CORE_LAYERS, "channels_redis.pubsub.RedisPubSubChannelLayer")


def kernels() -> str:
    return str(get_config()["KERNELS"])


def enabled() -> bool:
    """True when kernels run in worker processes."""
    return kernels() == "workers"


def layer_config() -> dict[str, Any]:
    return (getattr(settings, "CHANNEL_LAYERS", None) or {}).get("default") or {}


def redis_url() -> str:
    """NOTEBOOK_HOST["REDIS_URL"], else the channel layer's first host as a URL."""
    url = get_config()["REDIS_URL"]
    if url:
        return str(url)
    hosts = (layer_config().get("CONFIG") or {}).get("hosts") or []
    if not hosts:
        return "redis://localhost:6379/0"  # channels_redis' own default
    first = hosts[0]
    if isinstance(first, dict):
        address = first.get("address")
        if isinstance(address, str):
            return address
        raise ValueError("NOTEBOOK_HOST['REDIS_URL'] is needed: the layer's host is not a URL")
    if isinstance(first, (list, tuple)):
        return f"redis://{first[0]}:{first[1]}/0"
    return str(first)


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (check messages reach logs and CI)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def number(name: str, *, minimum: float, allow_none: bool = False) -> float | None:
    value = get_config()[name]
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(
            f"NOTEBOOK_HOST[{name!r}] must be a number >= {minimum}"
            + (" or None" if allow_none else "")
            + f", got {value!r}."
        )
    return float(value)


def heartbeat() -> float:
    return number("WORKER_HEARTBEAT", minimum=0.1) or 2.0


def expiry() -> float:
    return number("WORKER_EXPIRY", minimum=0.5) or 6.0


def timeout() -> float:
    return number("WORKER_TIMEOUT", minimum=0.5) or 15.0


def default_capacity() -> int:
    """Sessions a worker takes: WORKER_MAX_SESSIONS, else MAX_SESSIONS, else 50."""
    value = get_config()["WORKER_MAX_SESSIONS"] or get_config()["MAX_SESSIONS"] or 50
    return int(value)


def problems() -> list[tuple[str, str, str]]:
    """(id, message, hint) for every misconfiguration of worker kernels."""
    found: list[tuple[str, str, str]] = []
    mode = get_config()["KERNELS"]
    if mode not in KERNEL_MODES:
        try:
            backend_class(str(mode))  # another backend, by dotted path
        except ImproperlyConfigured as exc:
            found.append(
                (
                    "notebook_host.E101",
                    str(exc),
                    "Use 'local' (the default) unless you run manage.py notebook_worker processes.",
                )
            )
        return found
    minimums = (("WORKER_HEARTBEAT", 0.1), ("WORKER_EXPIRY", 0.5), ("WORKER_TIMEOUT", 0.5))
    for name, minimum in minimums:
        try:
            number(name, minimum=minimum)
        except ValueError as exc:
            found.append(("notebook_host.E102", str(exc), "Give a number of seconds."))
    capacity = get_config()["WORKER_MAX_SESSIONS"]
    if capacity is not None and (
        isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
    ):
        found.append(
            (
                "notebook_host.E102",
                f"NOTEBOOK_HOST['WORKER_MAX_SESSIONS'] must be a positive integer or None, "
                f"got {capacity!r}.",
                "None takes MAX_SESSIONS as each worker's capacity.",
            )
        )
    if not found and get_config()["WORKER_EXPIRY"] <= get_config()["WORKER_HEARTBEAT"]:
        found.append(
            (
                "notebook_host.E103",
                "NOTEBOOK_HOST['WORKER_EXPIRY'] must be longer than WORKER_HEARTBEAT, "
                "or live workers would look dead between two beats.",
                "Make it about three heartbeats.",
            )
        )
    if mode == "workers":
        backend = layer_config().get("BACKEND")
        if backend not in LAYER_BACKENDS:
            found.append(
                (
                    "notebook_host.E104",
                    "NOTEBOOK_HOST['KERNELS'] = 'workers' needs a channels_redis channel layer "
                    f"in CHANNEL_LAYERS['default'], got {backend!r}.",
                    "Set BACKEND to " + " or ".join(LAYER_BACKENDS) + ".",
                )
            )
        try:
            url = redis_url()
        except ValueError as exc:
            found.append(("notebook_host.E105", str(exc), "Set NOTEBOOK_HOST['REDIS_URL']."))
        else:
            if not url.startswith(("redis://", "rediss://", "unix://")):
                found.append(
                    (
                        "notebook_host.E105",
                        f"NOTEBOOK_HOST['REDIS_URL'] must be a redis://, rediss:// or unix:// "
                        f"URL, got {masked(url)!r}.",
                        "For example redis://:password@10.0.0.5:6379/0.",
                    )
                )
    return found


@register()
def check_workers(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """System checks (notebook_host.E101-E105) for KERNELS and its settings."""
    return [Error(message, hint=hint, id=ident) for ident, message, hint in problems()]
