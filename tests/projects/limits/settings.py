"""The test project with tiny session limits, for tests/live/test_limits_live.py."""

from tests.projects.default.settings import *  # noqa: F403
from tests.projects.default.settings import NOTEBOOK_HOST

NOTEBOOK_HOST = {
    **NOTEBOOK_HOST,
    "MAX_SESSIONS": 3,
    "MAX_SESSIONS_PER_USER": 2,
    "SESSION_TTL": 60,
}
