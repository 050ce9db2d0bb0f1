"""Websocket routes: every notebook socket ends in ``ws`` (or ``ws_sync``)."""

from django.urls import re_path

from .websocket import NotebookConsumer, RefuseConsumer

websocket_urlpatterns = [
    re_path(r"^(?:.*/)?ws(?:_sync)?$", NotebookConsumer.as_asgi()),
]

#: Last resort for sockets no route claims: refuse cleanly, no traceback.
fallback_urlpatterns = [
    re_path(r"", RefuseConsumer.as_asgi()),
]
