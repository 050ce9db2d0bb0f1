"""Websocket routes: every notebook socket ends in ``ws``; any other socket is refused."""

from typing import Any

from django.urls import re_path
from django.utils.module_loading import import_string

from ..backends import kernels
from .websocket import RefuseConsumer


def notebook_urlpatterns() -> list[Any]:
    """The socket route of the kernel backend chosen now (notebook_host.backends).

    Built with each application, not at import, so an application made after
    ``KERNELS`` changed (a test, a second project in one process) routes
    sockets to its own backend's consumer, which admits, opens and pumps.
    """
    return [re_path(r"^(?:.*/)?ws$", import_string(kernels().consumer).as_asgi())]


#: Last resort for sockets no route claims: refuse cleanly, no traceback.
fallback_urlpatterns = [
    re_path(r"", RefuseConsumer.as_asgi()),
]
