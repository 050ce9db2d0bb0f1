"""System checks: notebook files the URLconf names must exist and load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.checks import Info, Tags, Warning, register
from django.urls import URLPattern, URLResolver, get_resolver

from .conf import get_config
from .marimo import files
from .marimo.isolation.settings import PROCESS, supported
from .sources import configured_dirs
from .targets.notebook import ServedNotebook


def iter_notebooks(patterns: list[Any] | None = None) -> Iterator[ServedNotebook]:
    """Every ServedNotebook served by the URLconf, includes followed."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from iter_notebooks(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            target = getattr(entry.callback, "target", None)
            if isinstance(target, ServedNotebook):
                yield target


@register(Tags.urls)
def check_notebook_files(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """W001: a notebook file is missing; W002: it is not a loadable notebook."""
    problems: list[Warning] = []
    for notebook in iter_notebooks():
        try:
            files.check_notebook_file(notebook.file)
        except files.NotebookMissing:
            problems.append(
                Warning(
                    f"Notebook file {notebook.file} does not exist.",
                    hint=f"Route {notebook.route!r} will answer 404 until it does.",
                    obj=notebook.route or "/",
                    id="notebook_host.W001",
                )
            )
        except files.NotebookLoadError as exc:
            problems.append(
                Warning(
                    str(exc),
                    hint=f"Route {notebook.route!r} will show an error page.",
                    obj=notebook.route or "/",
                    id="notebook_host.W002",
                )
            )
    return problems


@register()
def check_allowed_dirs(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """W003: a folder of ALLOWED_DIRS does not exist (paths into it are refused)."""
    return [
        Warning(
            f"NOTEBOOK_HOST['ALLOWED_DIRS'] names {folder}, which is not a folder.",
            hint="Admin-registered notebooks cannot use paths inside it.",
            id="notebook_host.W003",
        )
        for folder in configured_dirs()
        if not folder.is_dir()
    ]


@register()
def check_isolation(app_configs: Any = None, **kwargs: Any) -> list[Info | Warning]:
    """I001: process kernels and their limits; W006: process kernels off Linux."""
    config = get_config()
    if config["KERNEL_ISOLATION"] != PROCESS:
        return []
    if not supported():
        return [
            Warning(
                "NOTEBOOK_HOST['KERNEL_ISOLATION'] = 'process' needs Linux; "
                "kernels run as threads here.",
                hint="Set it to 'thread' to silence this, or deploy on Linux.",
                id="notebook_host.W006",
            )
        ]
    memory, timeout = config["SESSION_MEMORY_LIMIT"], config["CELL_TIMEOUT"]
    return [
        Info(
            "Kernel isolation: each session in its own process; SESSION_MEMORY_LIMIT = "
            f"{'none' if memory is None else f'{memory} MiB'}, CELL_TIMEOUT = "
            f"{'none' if timeout is None else f'{timeout} s'}.",
            id="notebook_host.I001",
        )
    ]
