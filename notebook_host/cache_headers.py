"""Cache headers for marimo's frontend files; importable from settings.py.

ServeStatic's Django middleware decides "immutable" from a manifest storage
only and ignores SERVESTATIC_IMMUTABLE_FILE_TEST. marimo's files are
versioned by their ``marimo/<version>/`` prefix instead, so this
``SERVESTATIC_ADD_HEADERS_FUNCTION`` marks them immutable. It imports nothing
from Django, so settings.py can import it.
"""

from __future__ import annotations

import re
from typing import Any

FOREVER = 10 * 365 * 24 * 60 * 60
_VERSIONED = re.compile(r"/marimo/\d[^/]*/")


def add_headers(headers: Any, path: str, url: str) -> None:
    """Far-future, immutable caching for files under ``marimo/<version>/``."""
    if _VERSIONED.search(url):
        headers["Cache-Control"] = f"max-age={FOREVER}, public, immutable"
