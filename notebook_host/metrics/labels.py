"""The ``notebook`` label: the URL pattern a page matched, never the file.

A folder served with ``notebook_directory()`` may hold thousands of files;
labelling by file would make a series per file. The label is the route of
the URL pattern (``apps/``, ``reports/<slug:team>/``, ``notebooks/<slug:slug>/``
for admin-registered ones), so there are as many values as patterns, and a
process keeps at most ``METRICS_NOTEBOOK_LABELS`` of them: later ones count
as ``other``.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from django.urls import Resolver404, resolve

from ..conf import get_config

#: The label of pages past the cap, and of paths no pattern matches.
OTHER = "other"

_lock = threading.Lock()
_known: set[str] = set()


def _route_of(page_path: str) -> str:
    try:
        match = resolve(page_path)
    except Resolver404:
        return OTHER
    return "/" + (match.route or "")


@lru_cache(maxsize=4096)
def notebook_label(page_path: str) -> str:
    """The bounded label of a notebook page (``/apps/sales/q3/`` -> ``/apps/``)."""
    route = _route_of(page_path)
    with _lock:
        if route in _known:
            return route
        if route == OTHER or len(_known) >= int(get_config()["METRICS_NOTEBOOK_LABELS"]):
            return OTHER
        _known.add(route)
    return route


def page_of_socket(socket_path: str) -> str:
    """The page path of a kernel socket path (``/apps/x/ws`` -> ``/apps/x/``)."""
    return socket_path[:-2] if socket_path.endswith("/ws") else socket_path


def reset() -> None:
    """Forget the labels seen (tests)."""
    with _lock:
        _known.clear()
    notebook_label.cache_clear()
