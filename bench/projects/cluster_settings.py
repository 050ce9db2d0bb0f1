"""Settings for bench/cluster.py: bench/projects/compare_settings.py with kernels in workers.

``NOTEBOOK_HOST_REDIS_URL`` and ``NOTEBOOK_HOST_LAYER`` ("pubsub" or "core")
as in project/settings_cluster.py.
"""

import os

from bench.projects.compare_settings import *  # noqa: F403
from bench.projects.compare_settings import NOTEBOOK_HOST as _BASE

_LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _LAYERS[os.environ.get("NOTEBOOK_HOST_LAYER", "pubsub")],
        # The core layer's capacity is shared by every consumer of a process.
        "CONFIG": {
            "hosts": [os.environ.get("NOTEBOOK_HOST_REDIS_URL", "redis://127.0.0.1:6379/0")],
            # 10 messages per session a worker takes (check notebook_host.E106).
            **({"capacity": 2000} if os.environ.get("NOTEBOOK_HOST_LAYER") == "core" else {}),
        },
    }
}
# One worker takes all N = 100 sessions of a round (plain marimo has no limit).
NOTEBOOK_HOST = {**_BASE, "KERNELS": "workers", "MAX_SESSIONS": 200, "WORKER_MAX_SESSIONS": 200}
