"""marimo's frontend files as Django static files, under ``marimo/<version>/``.

They are the same public files for every notebook. Exposed through a
staticfiles finder, ``collectstatic`` gathers them once, a static server
(ServeStatic, a CDN) serves them with far-future cache headers, and every
notebook page loads them from ``STATIC_URL`` instead of below its own path.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.utils import get_files
from django.core.files.storage import FileSystemStorage

from .marimo.frontend import frontend_dir, static_prefix
from .marimo.protocol import NOT_FRONTEND_ASSETS

#: Files of marimo's build that are not frontend assets.
EXCLUDED = list(NOT_FRONTEND_ASSETS)


class MarimoAssetsFinder(BaseFinder):
    """Finds marimo's bundled frontend files under ``marimo/<version>/``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(frontend_dir()))
        self.storage.prefix = static_prefix()

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        prefix = static_prefix() + "/"
        if not path.startswith(prefix):
            return [] if find_all else ""
        name = path[len(prefix) :]
        if any(_match(name, pattern) for pattern in EXCLUDED) or not self.storage.exists(name):
            return [] if find_all else ""
        match = self.storage.path(name)
        return [match] if find_all else match

    def list(self, ignore_patterns: list[str] | None) -> Iterator[tuple[str, FileSystemStorage]]:
        for path in get_files(self.storage, [*(ignore_patterns or []), *EXCLUDED]):
            yield path, self.storage


def _match(name: str, pattern: str) -> bool:
    return fnmatchcase(name.rsplit("/", 1)[-1], pattern)
