"""Admin-registered notebooks as a URL target: ``<prefix>/<slug>/`` by database row.

Every request (page, API call, socket) looks its row up by slug: one query
on the unique slug index, so an edit, a disable or a delete made by any
process is seen at once. Each row maps to one long-lived
:class:`~notebook_host.targets.notebook.Notebook` (kept per primary key) so the app
registry and the session directory, which key on that object, keep working
across edits: a new source retires the old app (its sessions run on) and new
sessions get the new one.

When a row is disabled, deleted or renamed, this process closes its sessions
at once (signal) and other server processes do so on their next request for
the slug or their next poll: :mod:`notebook_host.runtime.registered_sync`
keeps the runtime in step, told by :mod:`.signals`.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import ImproperlyConfigured

from ..models import Notebook as NotebookRow
from ..params.declarations import NotebookParams
from ..sources import SourceError, resolve_path
from . import signals
from .access import AccessRule, parse_rule, restrict_to_groups
from .folder import Entry
from .notebook import SUBPATH_KWARG, Located, ServedNotebook

logger = logging.getLogger(__name__)

SLUG_KWARG = "slug"

#: Slugs that fixed routes of notebook_host.urls use or may use.
RESERVED_SLUGS = frozenset(
    {"api", "assets", "health", "metrics", "openapi.json", "static", "admin", "ws"}
)


def slug_reserved(slug: str) -> bool:
    return slug in RESERVED_SLUGS or slug.startswith("_")


#: Seconds an unused row is kept in the cache once it has no marimo app.
CACHE_IDLE_SECONDS = 60.0


@dataclass
class Cached:
    pk: int
    slug: str
    version: datetime
    notebook: ServedNotebook
    used: float = field(default_factory=time.monotonic)


by_pk: dict[int, Cached] = {}
_lock = threading.Lock()
_pk_of: weakref.WeakKeyDictionary[ServedNotebook, int] = weakref.WeakKeyDictionary()


def registered_pk(notebook: ServedNotebook) -> int | None:
    """The row a ServedNotebook stands for, if it is a registered one."""
    return _pk_of.get(notebook)


def source_file(row: Any) -> Path:
    """The local file a row serves; SourceError when it must not be served."""
    if row.upload:
        try:
            return Path(row.upload.path)
        except NotImplementedError as exc:
            raise SourceError("The upload storage is not a local file system.") from exc
    if row.path:
        return resolve_path(row.path)
    raise SourceError("The notebook has no source.")


class RegisteredNotebooks:
    """The target of ``notebook_host.urls``: a notebook row per slug."""

    name = "Notebooks"
    access = parse_rule("login", where="notebook_host.urls")

    def locate(self, kwargs: dict[str, Any]) -> Located | None:
        """Sync callers (system checks, shells): the same lookup."""
        return async_to_sync(self.alocate)(kwargs)

    async def alocate(self, kwargs: dict[str, Any]) -> Located | None:

        kwargs = dict(kwargs)
        slug = kwargs.pop(SLUG_KWARG)
        subpath = kwargs.pop(SUBPATH_KWARG, None)
        row = (
            await NotebookRow.objects.filter(slug=slug, enabled=True).defer("description").afirst()
        )
        if row is None:
            await signals.slug_gone.asend(sender=RegisteredNotebooks, slug=slug)
            return None
        notebook = await anotebook_for(row)
        if notebook is None:
            return None
        signals.rows_in_use.send(sender=RegisteredNotebooks)
        return Located(notebook=notebook, subpath=subpath, path_params=kwargs)


async def anotebook_for(row: Any) -> ServedNotebook | None:
    """The long-lived ServedNotebook of ``row``; a thread hop only when the row changed."""
    try:
        file = source_file(row)  # a few stats, as notebook_directory() does inline
    except SourceError as exc:
        logger.warning("Notebook %r is not served: %s", row.slug, exc)
        return None
    entry = by_pk.get(row.pk)
    if entry is not None and entry.version == row.updated and entry.notebook.file == file:
        entry.used = time.monotonic()
        return entry.notebook
    try:
        return await sync_to_async(_update)(row, file)
    except SourceError as exc:
        logger.warning("Notebook %r is not served: %s", row.slug, exc)
        return None


def _params(row: Any, where: str) -> NotebookParams | None:
    """The row's query-parameter check; a class that no longer imports is an error.

    Serving the notebook without its check would hand the kernel unchecked
    values, so such a row is not served (404, logged) until it is fixed.
    """
    if not row.params:
        return None
    try:
        return NotebookParams(row.params, unknown=row.unknown_params, where=where)
    except ImproperlyConfigured as exc:
        raise SourceError(str(exc)) from exc


def _update(row: Any, file: Path) -> ServedNotebook:
    """Build or bring up to date the row's ServedNotebook (sync: queries its groups)."""
    with _lock:
        group_ids = frozenset(row.allowed_groups.values_list("pk", flat=True))
        where = f"notebook {row.slug!r}"
        rule = restrict_to_groups(parse_rule(row.access_value(), where=where), group_ids)
        options = row.options()
        params = _params(row, where)
        entry = by_pk.get(row.pk)
        if entry is None:
            notebook = ServedNotebook(
                file=file,
                access=rule,
                name=row.slug,
                route=f"{row.slug}/",
                options=options,
                params=params,
            )
            _pk_of[notebook] = row.pk
            by_pk[row.pk] = Cached(row.pk, row.slug, row.updated, notebook)
            return notebook
        notebook = entry.notebook
        if notebook.file != file or notebook.options != options:
            # new sessions get a new app; old ones run on
            signals.source_changed.send(sender=RegisteredNotebooks, notebook=notebook)
            notebook.file, notebook.options = file, options
            notebook.relative_path = file.name
        notebook.access, notebook.name, notebook.params = rule, row.slug, params
        entry.slug, entry.version = row.slug, row.updated
        return notebook


@dataclass
class Listing:
    """What ``views.listing`` shows for ``<prefix>/``: enabled, servable rows."""

    rows: list[Entry]
    name: str = "Notebooks"
    access: AccessRule = RegisteredNotebooks.access

    def entries(self) -> Iterator[Entry]:
        return iter(self.rows)


async def registered_entries() -> Listing:
    """Every enabled row with a servable source, in title order."""

    found = []
    async for row in NotebookRow.objects.filter(enabled=True).order_by("title", "slug"):
        notebook = await anotebook_for(row)
        if notebook is not None:
            found.append(Entry(path=row.slug, title=row.title, notebook=notebook))
    signals.rows_in_use.send(sender=RegisteredNotebooks)
    return Listing(rows=found)
