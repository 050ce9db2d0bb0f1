"""The test project with process kernels and small limits (tests/live/test_isolation_live.py)."""

from tests.projects.default.settings import *  # noqa: F403
from tests.projects.default.settings import NOTEBOOK_HOST

ROOT_URLCONF = "tests.projects.isolation.urls"
NOTEBOOK_HOST = {
    **NOTEBOOK_HOST,
    "KERNEL_ISOLATION": "process",
    "SESSION_MEMORY_LIMIT": 200,
    "CELL_TIMEOUT": 2,
    "SESSION_TTL": 2,
}
