"""Websocket routes: every notebook socket ends in ``ws`` (or ``ws_sync``)."""

from django.urls import re_path

from .consumers import NotebookConsumer

websocket_urlpatterns = [
    re_path(r"^(?:.*/)?ws(?:_sync)?$", NotebookConsumer.as_asgi()),
]
