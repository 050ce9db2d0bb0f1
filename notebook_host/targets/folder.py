"""A folder of notebooks served live: ``notebook_directory()``'s target.

Every request looks at the folder as it is now: a new file is served on its
first request, a deleted one answers 404, an edited one reaches new sessions.
There is no watcher thread; a stat per request and a cache keyed by
modification time do the work.

Safety rules (marimo's ``with_dynamic_directory`` and more): no segment
starting with ``_`` or ``.``, no ``..``, no empty segment, no backslash or
NUL, and the file must resolve inside the folder (resolved live, so a
folder reached through a symlink swapped at deploy time keeps working).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..marimo import files as notebook_files
from ..marimo import routes
from ..params.declarations import DirectoryParamsMap
from . import signals
from .access import AccessRule
from .notebook import Located, ServedNotebook

logger = logging.getLogger(__name__)

#: URL kwarg: the path below the directory's URL (None: no trailing slash).
RELPATH_KWARG = "notebook_relpath"

_FORBIDDEN_CHARS = ("\\", "\x00")


def _safe_segment(segment: str) -> bool:
    return bool(segment) and segment not in {".", ".."} and segment[0] not in "._"


@dataclass(frozen=True)
class Entry:
    """One notebook of a directory, as the listing shows it."""

    path: str  # relative, without .py: "reports/q3"
    title: str
    notebook: ServedNotebook

    @property
    def section(self) -> str:
        return self.path.rpartition("/")[0]


class NotebookFolder:
    """Locates notebooks below ``root`` for URLs below ``route``."""

    def __init__(
        self,
        root: Path,
        *,
        route: str,
        access: AccessRule,
        validate: Callable[..., Any] | None,
        options: dict[str, Any],
        name: str | None = None,
        params: DirectoryParamsMap | None = None,
    ) -> None:
        self.root = root
        self.route = route
        self.access = access
        self.validate = validate
        self.options = options
        self.name = name
        self.params = params
        self._notebooks: dict[Path, ServedNotebook] = {}
        self._lock = threading.Lock()

    # -- locating ------------------------------------------------------------

    def locate(self, kwargs: dict[str, Any]) -> Located | None:
        kwargs = dict(kwargs)
        rel = kwargs.pop(RELPATH_KWARG, None)
        if rel is None or rel == "":
            return Located(
                notebook=None, subpath=None if rel is None else "", path_params=kwargs, listing=True
            )
        found = self.find(rel)
        if found is None:
            self.forget_missing()
            return None
        notebook, subpath = found
        return Located(notebook=notebook, subpath=subpath, path_params=kwargs)

    def find(self, rel: str) -> tuple[ServedNotebook, str | None] | None:
        """The notebook ``rel`` names and the sub-route after it, if safe and present."""
        if any(char in rel for char in _FORBIDDEN_CHARS):
            return None
        segments = rel.split("/")
        if ".." in segments:
            return None
        root = self._resolved_root()
        if root is None:
            return None
        for end in range(len(segments), 0, -1):
            name_parts, rest = segments[:end], segments[end:]
            if rest and rest != [""] and not routes.claimed("/".join(rest)):
                continue
            if not all(_safe_segment(part) for part in name_parts):
                continue
            file = self._file_for(root, name_parts)
            if file is None:
                continue
            subpath = None if not rest else "/".join(rest)
            return self._notebook(root, file), subpath
        return None

    def _resolved_root(self) -> Path | None:
        try:
            return self.root.resolve(strict=True)
        except OSError:
            logger.warning("Notebook directory %s does not exist", self.root)
            return None

    def _file_for(self, root: Path, name_parts: list[str]) -> Path | None:
        candidate = root.joinpath(*name_parts[:-1], name_parts[-1] + ".py")
        try:
            resolved = candidate.resolve(strict=True)
        except OSError:
            return None
        if not resolved.is_relative_to(root) or not resolved.is_file():
            logger.warning("Refused %s: it resolves outside %s", candidate, root)
            return None
        try:
            notebook_files.check_notebook_file(resolved)
        except (notebook_files.NotMarimoNotebook, notebook_files.NotebookMissing):
            return None
        except notebook_files.NotebookLoadError:
            pass  # a broken notebook: served as a clear error page
        return resolved

    def _notebook(self, root: Path, file: Path) -> ServedNotebook:
        notebook = self._notebooks.get(file)
        if notebook is None:
            with self._lock:
                notebook = self._notebooks.get(file)
                if notebook is None:
                    relative = file.relative_to(root).as_posix()
                    notebook = ServedNotebook(
                        file=file,
                        access=self.access,
                        route=self.route,
                        options=self.options,
                        validate=self.validate,
                        relative_path=relative,
                        params=self.params.for_path(relative) if self.params else None,
                    )
                    self._notebooks[file] = notebook
        return notebook

    def forget_missing(self) -> None:
        """Drop notebooks whose file is gone, and their apps."""
        with self._lock:
            for file, notebook in list(self._notebooks.items()):
                if not file.is_file():
                    del self._notebooks[file]
                    signals.source_changed.send(sender=NotebookFolder, notebook=notebook)

    # -- listing -------------------------------------------------------------

    def entries(self) -> Iterator[Entry]:
        """Every servable notebook below the folder, sorted by path."""
        self.forget_missing()
        root = self._resolved_root()
        if root is None:
            return
        found: list[Entry] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if _safe_segment(d))
            base = Path(folder)
            for name in files:
                if not name.endswith(".py") or not _safe_segment(name):
                    continue
                rel = (base / name).relative_to(root).with_suffix("").as_posix()
                located = self.find(rel + "/")
                if located is None:
                    continue
                notebook = located[0]
                try:
                    title = notebook_files.check_notebook_file(notebook.file).title
                except notebook_files.NotebookLoadError:
                    title = Path(rel).name
                found.append(Entry(path=rel, title=title, notebook=notebook))
        yield from sorted(found, key=lambda e: (e.section, e.path))
