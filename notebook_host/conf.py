"""notebook_host settings: one ``NOTEBOOK_HOST`` dict laid over defaults.

Read through :func:`get_config`, cached, and reset when a test overrides the
setting, in the manner of django-debug-toolbar.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Access rule for notebooks that do not name one.
    "DEFAULT_ACCESS": "login",
    # Per-notebook options; notebook(..., include_code=True) overrides.
    "INCLUDE_CODE": False,
    "SESSION_TTL": 120,
    "SHOW_TRACEBACKS": False,
    "REDIRECT_CONSOLE_TO_BROWSER": False,
    "HTML_HEAD": "",
    "QUIET": False,
    "SKEW_PROTECTION": True,
    # marimo's asset_url: where the frontend loads its assets from.
    "ASSET_URL": None,
    # Dotted paths to hooks, imported on first use.
    "USER_INFO": "notebook_host.userinfo.default_user_info",
    "REQUEST_META": None,
    # Seconds a notebook's app is kept with no session before it is evicted.
    "APP_IDLE_TTL": 300,
    # Seconds shutdown waits for kernels to close.
    "SHUTDOWN_TIMEOUT": 3.0,
    # Kernel API calls of an open session skip Django's middleware
    # (notebook_host.transports.fastpath); False sends them through the view.
    "KERNEL_API_FAST_PATH": True,
    # Live kernel sessions (each a thread of this process): whole process,
    # and per signed-in user (per browser for anonymous visitors). None: no cap.
    "MAX_SESSIONS": 200,
    "MAX_SESSIONS_PER_USER": 20,
    # Who may read the health endpoints: "public", "login", "staff",
    # "superuser", or a callable (request) -> bool (e.g. an IP allow-list).
    "HEALTH_ACCESS": "public",
    # Who also sees worker names, hosts and Redis errors there (a rule as
    # above); None: whoever HEALTH_ACCESS admits, or staff when it is "public".
    "HEALTH_DETAIL_ACCESS": None,
    # Admin-registered notebooks (notebook_host.models.Notebook).
    # Folders a notebook's "path" source may point into (relative: to BASE_DIR).
    "ALLOWED_DIRS": [],
    # Largest notebook upload accepted by the admin form, in bytes.
    "MAX_UPLOAD_BYTES": 1024 * 1024,
    # STORAGES alias for uploaded notebooks; None: FileSystemStorage under
    # MEDIA_ROOT/notebooks/. It must be a local file system (marimo needs a path).
    "UPLOAD_STORAGE": None,
    # Seconds between the server's checks for close requests and activity writes.
    "LIVE_SESSION_POLL": 2.0,
    # Origins ("https://intranet.example.com") besides the site's own that may
    # frame notebook pages (CSP frame-ancestors); {% notebook %} frames work
    # on the site's own pages without any.
    "FRAME_ANCESTORS": [],
    # Where kernels run: "local" (threads of the daphne process that served
    # the page) or "workers" (manage.py notebook_worker processes, reached
    # through the channel layer; docs/scaling.md).
    "KERNELS": "local",
    # Redis holding the session directory, limits and worker heartbeats with
    # KERNELS = "workers"; None: the first host of CHANNEL_LAYERS["default"].
    "REDIS_URL": None,
    # Sessions one worker takes unless `notebook_worker --max-sessions` says.
    "WORKER_MAX_SESSIONS": 50,
    # Seconds between worker heartbeats, and after which a silent worker is dead.
    "WORKER_HEARTBEAT": 2.0,
    "WORKER_EXPIRY": 6.0,
    # Seconds a front waits for a worker's answer to a forwarded request.
    "WORKER_TIMEOUT": 15.0,
    # {% notebook %}: the iframe's sandbox tokens (docs/embedding.md#the-sandbox);
    # add e.g. "allow-modals" for alert()/confirm() in outputs.
    "EMBED_SANDBOX": [
        "allow-scripts",
        "allow-same-origin",
        "allow-downloads",
        "allow-popups",
        "allow-forms",
    ],
    # Prometheus metrics (docs/metrics.md). Who may read <include>/metrics/:
    # an access rule as HEALTH_ACCESS takes; a request carrying
    # "Authorization: Bearer <METRICS_TOKEN>" is allowed too (None: no token).
    "METRICS_ACCESS": "staff",
    "METRICS_TOKEN": None,
    # Distinct notebook label values per process; later ones count as "other".
    "METRICS_NOTEBOOK_LABELS": 50,
    # Notebook prints go to the logger notebook_host.kernel.stdout as well.
    "KERNEL_STDOUT": False,
    # A lost kernel comes back with the widget values its viewer set
    # (notebook_host.runtime.replay); per session at most this many values
    # and bytes of JSON, else it starts fresh with a notice.
    "REPLAY": True,
    "REPLAY_MAX_VALUES": 200,
    "REPLAY_MAX_BYTES": 256 * 1024,
    # Kernel isolation (docs/isolation.md): "thread" (marimo's: every session a
    # thread of the server) or "process" (each session a process forked from a
    # warm template per notebook; Linux). Limits apply to "process" only:
    # MiB a session may add to its template's memory, seconds one cell may run
    # (then interrupted, killed 3 s later); None: no limit.
    "KERNEL_ISOLATION": "thread",
    "SESSION_MEMORY_LIMIT": 512,
    "CELL_TIMEOUT": 60,
    # Python's garbage collector (notebook_host.runtime.collector): once the
    # server or worker has started, what it loaded is frozen out of the
    # collector and these thresholds (gc.set_threshold) apply; None leaves
    # Python's own (700, 10, 10) and freezes nothing.
    "GC_THRESHOLD": (10_000, 20, 20),
}

#: Keys of DEFAULTS that are per-notebook options (lower-cased in notebook()).
OPTION_KEYS: tuple[str, ...] = (
    "INCLUDE_CODE",
    "SESSION_TTL",
    "SHOW_TRACEBACKS",
    "REDIRECT_CONSOLE_TO_BROWSER",
    "HTML_HEAD",
    "QUIET",
    "SKEW_PROTECTION",
    "ASSET_URL",
)

#: The type(s) each per-notebook option takes.
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "include_code": (bool,),
    "session_ttl": (int,),
    "show_tracebacks": (bool,),
    "redirect_console_to_browser": (bool,),
    "html_head": (str,),
    "quiet": (bool,),
    "skew_protection": (bool,),
    "asset_url": (str, type(None)),
}


def validate_options(where: str, options: dict[str, Any]) -> dict[str, Any]:
    """Fail at startup, naming the notebook, on an unknown or mistyped option."""
    for key, value in options.items():
        if key not in OPTION_TYPES:
            known = ", ".join(sorted(OPTION_TYPES))
            raise ImproperlyConfigured(f"{where}: unknown option {key!r}. Known options: {known}.")
        expected = OPTION_TYPES[key]
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            names = " or ".join(t.__name__ for t in expected)
            raise ImproperlyConfigured(f"{where}: option {key!r} must be {names}, got {value!r}.")
        if key == "session_ttl" and isinstance(value, int) and value < 0:
            raise ImproperlyConfigured(f"{where}: session_ttl must be >= 0.")
    return options


@cache
def get_config() -> dict[str, Any]:
    """The effective settings; unknown keys fail loudly."""
    user = getattr(settings, "NOTEBOOK_HOST", None) or {}
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST has unknown key(s): {', '.join(unknown)}. "
            f"Known keys: {', '.join(sorted(DEFAULTS))}."
        )
    config = {**DEFAULTS, **user}
    validate_options("NOTEBOOK_HOST", {key.lower(): config[key] for key in OPTION_KEYS})
    config["FRAME_ANCESTORS"] = check_frame_ancestors(config["FRAME_ANCESTORS"])
    config["EMBED_SANDBOX"] = check_embed_sandbox(config["EMBED_SANDBOX"])
    check_isolation(config)
    config["GC_THRESHOLD"] = check_gc_threshold(config["GC_THRESHOLD"])
    return config


def check_gc_threshold(value: Any) -> tuple[int, int, int] | None:
    """``GC_THRESHOLD`` as ``gc.set_threshold`` takes it, or a clear error."""
    if value is None:
        return None
    if (
        isinstance(value, list | tuple)
        and len(value) == 3
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
    ):
        return (value[0], value[1], value[2])
    raise ImproperlyConfigured(
        "NOTEBOOK_HOST['GC_THRESHOLD'] must be three positive integers "
        f"(gc.set_threshold's) or None, got {value!r}."
    )


def check_isolation(config: dict[str, Any]) -> None:
    """``KERNEL_ISOLATION`` and its limits, or a clear error."""
    if config["KERNEL_ISOLATION"] not in ("thread", "process"):
        raise ImproperlyConfigured(
            "NOTEBOOK_HOST['KERNEL_ISOLATION'] must be 'thread' or 'process', "
            f"got {config['KERNEL_ISOLATION']!r}."
        )
    for key, kinds in (("SESSION_MEMORY_LIMIT", (int,)), ("CELL_TIMEOUT", (int, float))):
        value = config[key]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, kinds) or value <= 0
        ):
            raise ImproperlyConfigured(
                f"NOTEBOOK_HOST[{key!r}] must be a positive number or None, got {value!r}."
            )


#: One origin as CSP frame-ancestors and postMessage take it: no path, no wildcard.
_ORIGIN = re.compile(r"^https?://(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9-]+(?::\d{1,5})?$")


def check_frame_ancestors(value: Any) -> list[str]:
    """``FRAME_ANCESTORS`` as a list of origins, or a clear error.

    Each entry lands in a response header and in a postMessage target, so
    only plain ``scheme://host[:port]`` origins are accepted: no path,
    wildcard, quote, keyword or separator.
    """
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['FRAME_ANCESTORS'] must be a list of origins, got {value!r}."
        )
    for origin in value:
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise ImproperlyConfigured(
                f"NOTEBOOK_HOST['FRAME_ANCESTORS']: {origin!r} is not an origin. Use "
                "'https://host' or 'http://host:port' (lower case, no path, no wildcard); "
                "the site's own origin is always allowed."
            )
    return list(value)


#: The iframe sandbox tokens browsers know; a typo would silently allow nothing.
SANDBOX_TOKENS = frozenset(
    {
        "allow-downloads",
        "allow-forms",
        "allow-modals",
        "allow-orientation-lock",
        "allow-pointer-lock",
        "allow-popups",
        "allow-popups-to-escape-sandbox",
        "allow-presentation",
        "allow-same-origin",
        "allow-scripts",
        "allow-storage-access-by-user-activation",
        "allow-top-navigation",
        "allow-top-navigation-by-user-activation",
        "allow-top-navigation-to-custom-protocols",
    }
)
#: What marimo's page cannot work without (its script, its API and cookies).
SANDBOX_REQUIRED = ("allow-scripts", "allow-same-origin")


def check_embed_sandbox(value: Any) -> list[str]:
    """``EMBED_SANDBOX`` as a list of known tokens that marimo's page can run under."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['EMBED_SANDBOX'] must be a list of sandbox tokens, got {value!r}."
        )
    unknown = [token for token in value if token not in SANDBOX_TOKENS]
    if unknown:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['EMBED_SANDBOX']: unknown token(s) {unknown}; "
            f"known: {', '.join(sorted(SANDBOX_TOKENS))}."
        )
    missing = [token for token in SANDBOX_REQUIRED if token not in value]
    if missing:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['EMBED_SANDBOX'] lacks {missing}: marimo's page runs a script "
            "that calls its own API with the site's cookies."
        )
    return list(dict.fromkeys(value))


def get_hook(name: str) -> Any:
    """Import the callable a dotted-path setting names, or None."""
    value = get_config()[name]
    if value is None or callable(value):
        return value
    if not isinstance(value, str):
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST[{name!r}] must be a dotted path or a callable, got {value!r}."
        )
    return _import_hook(name, value)


@cache
def _import_hook(name: str, dotted: str) -> Any:
    try:
        return import_string(dotted)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST[{name!r}] = {dotted!r} cannot be imported: {exc}"
        ) from exc


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTEBOOK_HOST":
        get_config.cache_clear()
        _import_hook.cache_clear()
