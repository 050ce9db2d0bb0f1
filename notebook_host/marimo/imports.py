"""The modules a notebook imports that this server cannot import.

Read statically from the file (no cell runs), so a page can name the missing
module before its kernel fails on it, and the log can name notebook and
module. Imports guarded by ``try`` are the notebook's own business.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import sys
from functools import cache
from pathlib import Path

logger = logging.getLogger("notebook_host.notebooks")


def _guarded(tree: ast.AST) -> set[int]:
    """ids of the import nodes inside a ``try`` body (they expect to fail)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try | ast.TryStar):
            for statement in node.body:
                inside.update(id(child) for child in ast.walk(statement))
    return inside


def imported_modules(source: str) -> list[str]:
    """Top-level names of the absolute, unguarded imports of ``source``, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    guarded = _guarded(tree)
    names: dict[str, None] = {}
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.name.partition(".")[0]] = None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names[node.module.partition(".")[0]] = None
    return list(names)


def _importable(name: str) -> bool:
    if name in sys.modules or name in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@cache
def _missing(path: Path, mtime_ns: int) -> tuple[str, ...]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    missing = tuple(name for name in imported_modules(source) if not _importable(name))
    for name in missing:
        # Once per version of the file and process: every page of it would say the same.
        logger.warning("Notebook %s imports %r, which is not installed on this server.", path, name)
    return missing


def missing_modules(path: Path) -> tuple[str, ...]:
    """The modules ``path`` imports that cannot be found here (logged once per version)."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        return ()
    return _missing(path, mtime_ns)
