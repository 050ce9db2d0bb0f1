"""The test project with kernels in worker processes (devtools/cluster.py).

``NOTEBOOK_HOST_TEST_REDIS`` is the throwaway redis-server's URL;
``NOTEBOOK_HOST_TEST_LAYER`` picks the channels_redis backend: "core" or "pubsub".
"""

import os

from tests.projects.default.settings import *  # noqa: F403
from tests.projects.default.settings import NOTEBOOK_HOST as _BASE

_LAYERS = {
    "core": "notebook_host.workers.layer.CoreChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
_REDIS = os.environ.get("NOTEBOOK_HOST_TEST_REDIS", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _LAYERS[os.environ.get("NOTEBOOK_HOST_TEST_LAYER", "core")],
        # The capacity check (notebook_host.E106) asks 10 messages per worker session;
        # NOTEBOOK_HOST_TEST_CAPACITY (0: the layer's default) lets a test go below it.
        "CONFIG": {
            "hosts": [_REDIS],
            "capacity": int(os.environ.get("NOTEBOOK_HOST_TEST_CAPACITY", "500")) or 100,
        },
    }
}


# A test that shows what E106 prevents starts a cluster below the capacity it asks.
SILENCED_SYSTEM_CHECKS = [
    c for c in os.environ.get("NOTEBOOK_HOST_TEST_SILENCE", "").split(",") if c
]


def _detail_probe(request) -> bool:
    """Health detail (worker names) for the tests' own probe only: others get counts."""
    return request.headers.get("X-Test-Health-Detail") == "yes"


NOTEBOOK_HOST = {
    **_BASE,
    "KERNELS": "workers",
    # Short beats so the fault tests see a dead worker within seconds.
    "WORKER_HEARTBEAT": 0.5,
    "WORKER_EXPIRY": 4.0,
    "WORKER_TIMEOUT": 10.0,
    "HEALTH_DETAIL_ACCESS": _detail_probe,
    "MAX_SESSIONS_PER_USER": int(os.environ.get("NOTEBOOK_HOST_TEST_PER_USER", "0")) or None,
}
