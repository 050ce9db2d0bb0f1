"""Is a file a marimo notebook we can serve? The checks and the load errors.

A cheap check (:func:`check_notebook_file`: read, parse, title; cached by
modification time) runs on every request; marimo's own static load
(:func:`load_notebook`: no cell runs) runs where a clear verdict matters
more than speed (the admin form, the admin's check action).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from marimo._ast.load import load_app


class NotebookLoadError(Exception):
    """The notebook file exists but cannot be served (parse or load error)."""


class NotebookMissing(NotebookLoadError):
    """The notebook file does not exist."""


class NotMarimoNotebook(NotebookLoadError):
    """The file is Python, but not a marimo notebook."""


@dataclass(frozen=True)
class NotebookInfo:
    """What serving and listing need to know about a notebook file."""

    title: str
    mtime_ns: int


_TITLE = re.compile(r"""app_title\s*=\s*(["'])(.*?)\1""")


def check_notebook_file(path: Path) -> NotebookInfo:
    """Raise a clear error unless ``path`` is a readable marimo notebook.

    Cached per (path, mtime, size): an unchanged file is read once.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise NotebookMissing(f"Notebook file not found: {path.name}") from exc
    if not path.is_file():
        raise NotebookMissing(f"Notebook file not found: {path.name}")
    return _inspect(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _inspect(path: Path, mtime_ns: int, size: int) -> NotebookInfo:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookLoadError(f"Cannot read {path.name}: {exc}") from exc
    if "marimo.App(" not in source:
        raise NotMarimoNotebook(f"{path.name} is not a marimo notebook")
    try:
        ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise NotebookLoadError(
            f"{path.name} does not parse: line {exc.lineno}: {exc.msg}"
        ) from exc
    match = _TITLE.search(source)
    title = match.group(2) if match else path.stem.replace("_", " ")
    return NotebookInfo(title=title, mtime_ns=mtime_ns)


def load_notebook(path: Path) -> NotebookInfo:
    """:func:`check_notebook_file`, then marimo's own static load of the cells.

    Nothing is executed: marimo parses the file into an app and builds its
    cell graph, which finds what a plain parse cannot (no app, broken cells).
    """
    info = check_notebook_file(path)
    try:
        app = load_app(path)
        if app is None:
            raise NotMarimoNotebook(f"{path.name} defines no marimo app")
        app._maybe_initialize()
    except NotebookLoadError:
        raise
    except Exception as exc:
        raise NotebookLoadError(f"{path.name} failed to load: {exc}") from exc
    return info
