"""Workers with process kernels (tests/live/workers/test_cluster_isolation_live.py).

The cluster project (Redis from ``NOTEBOOK_HOST_TEST_REDIS``) serving the
isolation project's notebook, each session a process forked in the worker.
"""

from tests.projects.cluster.settings import *  # noqa: F403
from tests.projects.cluster.settings import NOTEBOOK_HOST as _CLUSTER

ROOT_URLCONF = "tests.projects.isolation.urls"
NOTEBOOK_HOST = {
    **_CLUSTER,
    "KERNEL_ISOLATION": "process",
    "SESSION_MEMORY_LIMIT": 200,
    "CELL_TIMEOUT": 2,
}
