"""Websocket routes: every notebook socket ends in ``ws``; any other socket is refused."""

from django.urls import re_path
from django.utils.module_loading import import_string

from ..backends import kernels
from .websocket import RefuseConsumer

#: The kernel backend's consumer (notebook_host.backends): it admits, opens and pumps.
websocket_urlpatterns = [
    re_path(r"^(?:.*/)?ws$", import_string(kernels().consumer).as_asgi()),
]

#: Last resort for sockets no route claims: refuse cleanly, no traceback.
fallback_urlpatterns = [
    re_path(r"", RefuseConsumer.as_asgi()),
]
