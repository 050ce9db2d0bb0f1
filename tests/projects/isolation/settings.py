"""The test project with process kernels and small limits (tests/live/test_isolation_live.py)."""

import os

from tests.projects.default.settings import *  # noqa: F403
from tests.projects.default.settings import NOTEBOOK_HOST

ROOT_URLCONF = "tests.projects.isolation.urls"
NOTEBOOK_HOST = {
    **NOTEBOOK_HOST,
    # bench/isolation.py runs this project with "thread" too.
    "KERNEL_ISOLATION": os.environ.get("NOTEBOOK_HOST_TEST_ISOLATION", "process"),
    "SESSION_MEMORY_LIMIT": 200,
    # bench/isolation.py turns it off (0) to keep a busy loop running beside other tabs.
    "CELL_TIMEOUT": float(os.environ.get("NOTEBOOK_HOST_TEST_CELL_TIMEOUT", "2")) or None,
    "SESSION_TTL": 2,
}
