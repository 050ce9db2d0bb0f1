"""Settings for the soak test (bench/soak.py): the demo project, short session TTL.

The soak script sets SOAK_SESSION_TTL (seconds a kernel outlives its closed
tab), so that after the load stops the server is idle again within seconds.
The demo's access rules stay (its dashboard needs a signed-in user); the
simulated users sign in through Django's login view once each, with a fast
password hasher so that signing in 100 users does not dominate the start.
"""

import os

from bench.settings import LOGGING as BENCH_LOGGING
from project.settings import *  # noqa: F403
from project.settings import NOTEBOOK_HOST as DEMO_NOTEBOOK_HOST

# The demo's URLs and /_bench/stats, which tells what the process still holds.
ROOT_URLCONF = "bench.soak_urls"
# Django's DEBUG keeps per-request state (queries); a soak measures without it.
DEBUG = False
NOTEBOOK_HOST = {
    **DEMO_NOTEBOOK_HOST,
    "SESSION_TTL": int(os.environ.get("SOAK_SESSION_TTL") or 5),
    "QUIET": True,
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Warnings and errors only; every 5xx Django answers is logged ("Internal Server Error").
LOGGING = BENCH_LOGGING
