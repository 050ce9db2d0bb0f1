"""The demo with kernels in worker processes (``make serve-cluster``, docs/scaling.md).

``NOTEBOOK_HOST_REDIS_URL`` names the Redis; ``NOTEBOOK_HOST_LAYER`` picks the
channels_redis backend: "pubsub" (default) or "core".
"""

import os

from project.settings import *  # noqa: F403
from project.settings import NOTEBOOK_HOST as _BASE

_LAYERS = {
    "core": "notebook_host.workers.layer.CoreChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": _LAYERS[os.environ.get("NOTEBOOK_HOST_LAYER", "pubsub")],
        "CONFIG": {
            "hosts": [os.environ.get("NOTEBOOK_HOST_REDIS_URL", "redis://127.0.0.1:6379/0")],
            # Used by the core layer only: 10 messages per session a worker takes (E106).
            "capacity": 500,
        },
    }
}
NOTEBOOK_HOST = {**_BASE, "KERNELS": "workers"}
