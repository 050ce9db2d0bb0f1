"""Settings for the test suite: the demo project plus test notebooks and hooks."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# The demo refuses to start with DEBUG off and no key; these runs keep its
# former defaults unless the environment says otherwise.
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from project.settings import *  # noqa: F403
from project.settings import MIDDLEWARE, TEMPLATES

ROOT_URLCONF = "tests.projects.default.urls"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [*TEMPLATES[0]["DIRS"], Path(__file__).parent / "templates"]}]
MIDDLEWARE = [*MIDDLEWARE, "tests.support.hooks.HeaderMiddleware"]
_NB = Path(__file__).resolve().parents[2] / "notebooks"
# The live server keeps uploads in its workdir; in-process tests in a temp dir.
MEDIA_ROOT = os.environ.get("DJANGO_MEDIA_ROOT")
if not MEDIA_ROOT:
    MEDIA_ROOT = tempfile.mkdtemp(prefix="nh-media-")
    atexit.register(shutil.rmtree, MEDIA_ROOT, True)
NOTEBOOK_HOST = {
    "DEFAULT_ACCESS": "login",
    "SESSION_TTL": 30,
    "REQUEST_META": "tests.support.hooks.request_meta",
    # One live server serves the whole suite; limits are tested on their own
    # server (tests/live/test_limits_live.py).
    "MAX_SESSIONS": None,
    "MAX_SESSIONS_PER_USER": None,
    "ALLOWED_DIRS": [os.environ.get("NOTEBOOK_HOST_TEST_APPS", _NB / "apps")],
    "LIVE_SESSION_POLL": 0.5,
    # tests/browser/test_embed_browser.py: a second daphne's origin allowed to frame.
    "FRAME_ANCESTORS": os.environ.get("NOTEBOOK_HOST_TEST_FRAME_ANCESTORS", "").split(),
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
# tests/live/test_metrics_live.py: the metrics endpoint's bearer token.
if os.environ.get("NOTEBOOK_HOST_TEST_METRICS_TOKEN"):
    NOTEBOOK_HOST["METRICS_TOKEN"] = os.environ["NOTEBOOK_HOST_TEST_METRICS_TOKEN"]
# tests/live/test_kernel_logs_live.py: kernel records (and prints) as JSON lines.
if os.environ.get("NOTEBOOK_HOST_TEST_KERNEL_LOG"):
    NOTEBOOK_HOST["KERNEL_STDOUT"] = True
    LOGGING["formatters"] = {"json": {"()": "tests.support.jsonlog.JsonLines"}}
    LOGGING["handlers"]["kernel"] = {
        "class": "logging.FileHandler",
        "filename": os.environ["NOTEBOOK_HOST_TEST_KERNEL_LOG"],
        "formatter": "json",
    }
    LOGGING["loggers"]["notebook_host.kernel"] = {
        "handlers": ["kernel", "console"],
        "level": "INFO",
        "propagate": False,
    }
