"""Settings for the soak test (bench/soak.py): the demo project, short session TTL.

The soak script sets SOAK_SESSION_TTL (seconds a kernel outlives its closed
tab), so that after the load stops the server is idle again within seconds,
and SOAK_MAX_SESSIONS, room for its load under issue 6's session limits.
The demo's access rules stay (its dashboard needs a signed-in user); the
simulated users sign in through Django's login view once each, with a fast
password hasher so that signing in 100 users does not dominate the start.
"""

import os

from bench.projects.settings import LOGGING as BENCH_LOGGING
from notebook_host.conf import DEFAULTS as HOST_DEFAULTS

# The demo refuses to start with DEBUG off and no key; these runs keep its
# former defaults unless the environment says otherwise.
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from project.settings import *  # noqa: F403
from project.settings import NOTEBOOK_HOST as DEMO_NOTEBOOK_HOST

# The demo's URLs and /_bench/stats, which tells what the process still holds.
ROOT_URLCONF = "bench.projects.soak_urls"
# Django's DEBUG keeps per-request state (queries); a soak measures without it.
DEBUG = False
NOTEBOOK_HOST = {
    **DEMO_NOTEBOOK_HOST,
    "SESSION_TTL": int(os.environ.get("SOAK_SESSION_TTL") or 5),
    "QUIET": True,
}
# Session limits (issue 6), where this version of notebook_host has them: the
# soak measures load, not refusals. Each user has one live tab and at most one
# closed tab's kernel inside its TTL.
SOAK_LIMITS = {
    "MAX_SESSIONS": int(os.environ.get("SOAK_MAX_SESSIONS") or 1000),
    "MAX_SESSIONS_PER_USER": 4,
}
NOTEBOOK_HOST.update({key: value for key, value in SOAK_LIMITS.items() if key in HOST_DEFAULTS})
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Warnings and errors only; every 5xx Django answers is logged ("Internal Server Error").
LOGGING = BENCH_LOGGING
