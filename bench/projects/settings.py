"""Settings for the directory memory benchmark: the demo project, one public folder.

The benchmark script sets the environment: BENCH_APPS_DIR (the generated
notebooks), BENCH_SESSION_TTL and BENCH_APP_IDLE_TTL (seconds).
"""

import os

# The demo refuses to start with DEBUG off and no key; these runs keep its
# former defaults unless the environment says otherwise.
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.projects.urls"
# Django's DEBUG keeps per-request state (queries); a benchmark measures without it.
DEBUG = False
NOTEBOOK_HOST = {
    "DEFAULT_ACCESS": "public",
    "SESSION_TTL": int(os.environ.get("BENCH_SESSION_TTL") or 2),
    "APP_IDLE_TTL": float(os.environ.get("BENCH_APP_IDLE_TTL") or 10),
    "QUIET": True,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "notebook_host": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "django": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
