"""Settings for the test suite: the demo project plus test notebooks and hooks."""

from project.settings import *  # noqa: F403
from project.settings import MIDDLEWARE

ROOT_URLCONF = "tests.urls"
MIDDLEWARE = [*MIDDLEWARE, "tests.hooks.HeaderMiddleware"]
NOTEBOOK_HOST = {
    "DEFAULT_ACCESS": "login",
    "SESSION_TTL": 30,
    "REQUEST_META": "tests.hooks.request_meta",
    # One live server serves the whole suite; limits are tested on their own
    # server (tests/test_limits_live.py).
    "MAX_SESSIONS": None,
    "MAX_SESSIONS_PER_USER": None,
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"notebook_host": {"handlers": ["console"], "level": "DEBUG", "propagate": False}},
}
SILENCED_SYSTEM_CHECKS = ["notebook_host.W001", "notebook_host.W002"]  # deliberate
SERVESTATIC_USE_FINDERS = True  # no collectstatic needed in tests
