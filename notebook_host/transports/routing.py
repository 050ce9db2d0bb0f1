"""Websocket routes: every notebook socket ends in ``ws``; any other socket is refused."""

from django.urls import re_path

from ..workers.settings import enabled as workers_enabled
from .websocket import NotebookConsumer, RefuseConsumer


def _consumer() -> type[NotebookConsumer]:
    """The local-kernel consumer, or the forwarding one with KERNELS = "workers"."""
    if workers_enabled():
        from ..workers.front.consumer import WorkerConsumer  # needs channels_redis (optional)

        return WorkerConsumer
    return NotebookConsumer


websocket_urlpatterns = [
    re_path(r"^(?:.*/)?ws$", _consumer().as_asgi()),
]

#: Last resort for sockets no route claims: refuse cleanly, no traceback.
fallback_urlpatterns = [
    re_path(r"", RefuseConsumer.as_asgi()),
]
