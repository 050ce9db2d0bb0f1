"""Settings for bench/compare/: the demo project as it is, one limit lifted.

The concurrency rounds open up to 100 kernel sessions as one signed-in user
(alice); the demo's ``MAX_SESSIONS_PER_USER`` (20) would refuse most of them,
and plain marimo has no such limit. Everything else is project.settings,
DJANGO_DEBUG and DJANGO_STATIC_ROOT included; the URLconf adds /busy/.
"""

import os

# The demo refuses to start with DEBUG off and no key; these runs keep its
# former defaults unless the environment says otherwise.
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key")

from project.settings import *  # noqa: F403
from project.settings import NOTEBOOK_HOST as DEMO_NOTEBOOK_HOST

NOTEBOOK_HOST = {**DEMO_NOTEBOOK_HOST, "MAX_SESSIONS_PER_USER": None}
#: The demo's URLs plus /busy/, the busy-loop notebook of bench/cluster.py.
ROOT_URLCONF = "bench.projects.demo_urls"
if os.environ.get("BENCH_PYTHON_GC") == "1":
    # Python's own collector, to measure what GC_THRESHOLD changes (docs/performance.md).
    NOTEBOOK_HOST["GC_THRESHOLD"] = None
