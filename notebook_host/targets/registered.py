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
the slug or their next poll (see :mod:`notebook_host.runtime.session_rows`).
"""

from __future__ import annotations

import asyncio
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
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.utils import timezone

from ..models import LiveSession
from ..models import Notebook as NotebookRow
from ..params.declarations import NotebookParams
from ..runtime import session_directory, session_rows
from ..runtime.notebook_apps import apps
from ..sources import SourceError, resolve_path
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
class _Cached:
    pk: int
    slug: str
    version: datetime
    notebook: ServedNotebook
    used: float = field(default_factory=time.monotonic)


_by_pk: dict[int, _Cached] = {}
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
            await retire_slug(slug)
            return None
        notebook = await anotebook_for(row)
        if notebook is None:
            return None
        session_rows.ensure_polling()
        return Located(notebook=notebook, subpath=subpath, path_params=kwargs)


async def anotebook_for(row: Any) -> ServedNotebook | None:
    """The long-lived ServedNotebook of ``row``; a thread hop only when the row changed."""
    try:
        file = source_file(row)  # a few stats, as notebook_directory() does inline
    except SourceError as exc:
        logger.warning("Notebook %r is not served: %s", row.slug, exc)
        return None
    entry = _by_pk.get(row.pk)
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
        entry = _by_pk.get(row.pk)
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
            _by_pk[row.pk] = _Cached(row.pk, row.slug, row.updated, notebook)
            session_rows.watch(_watch_rows)
            return notebook
        notebook = entry.notebook
        if notebook.file != file or notebook.options != options:
            apps.forget(notebook)  # new sessions get a new app; old ones run on
            notebook.file, notebook.options = file, options
            notebook.relative_path = file.name
        notebook.access, notebook.name, notebook.params = rule, row.slug, params
        entry.slug, entry.version = row.slug, row.updated
        return notebook


async def retire(pk: int) -> None:
    """Stop serving row ``pk`` in this process: close its sessions, drop its app."""
    entry = _by_pk.pop(pk, None)
    if entry is None:
        return
    notebook = entry.notebook
    await session_rows.close_local(notebook=notebook)
    for app in _apps_of(notebook):
        app.close_all_sessions()
    apps.forget(notebook)


async def retire_slug(slug: str) -> None:
    for entry in [e for e in list(_by_pk.values()) if e.slug == slug]:
        await retire(entry.pk)


def _apps_of(notebook: ServedNotebook) -> list[Any]:

    found = {id(a): a for a in session_directory.directory.apps_of(notebook)}
    current = apps.peek(notebook)
    if current is not None:
        found[id(current)] = current
    return list(found.values())


async def close_all(pk: int) -> int:
    """Close every session of row ``pk`` held by this process; returns how many."""
    entry = _by_pk.get(pk)
    if entry is None:
        return 0
    count = await session_rows.close_local(notebook=entry.notebook)
    for app in _apps_of(entry.notebook):
        count = max(count, app.session_count())
        app.close_all_sessions()
    return count


async def _watch_rows() -> None:
    """Poll: retire cached rows another process disabled, deleted or renamed.

    Rows unused for a while whose app is gone leave the cache, so a process
    stops polling once nobody uses registered notebooks.
    """
    now = time.monotonic()
    for pk, entry in list(_by_pk.items()):
        if now - entry.used > CACHE_IDLE_SECONDS and not _apps_of(entry.notebook):
            _by_pk.pop(pk, None)
    if not _by_pk:
        session_rows.unwatch(_watch_rows)
        return

    pks = list(_by_pk)
    live = {
        pk: slug
        async for pk, slug in NotebookRow.objects.filter(pk__in=pks, enabled=True).values_list(
            "pk", "slug"
        )
    }
    for pk in pks:
        cached = _by_pk.get(pk)
        if cached is not None and live.get(pk) != cached.slug:
            await retire(pk)


def run_in_server(coro_factory: Any) -> None:
    """Run an async retire/close from sync code (a signal, an admin action).

    Under daphne the admin runs in a worker thread while kernels live on the
    server's event loop: hand the work to that loop. Without a loop (a
    shell), there is nothing of this process to close.
    """
    loop = session_rows.server_loop()
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        loop.create_task(coro_factory())
        return
    # Not awaited: the coroutine's ORM calls need the sync thread we may be in.
    asyncio.run_coroutine_threadsafe(coro_factory(), loop)


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
    session_rows.ensure_polling()
    return Listing(rows=found)


# -- keeping servers in step with the table (connected in apps.ready) ----------------


def _request_close_rows(pk: int) -> None:

    session_rows.request_close(LiveSession.objects.filter(notebook_id=pk))


def _retire_after_commit(pk: int) -> None:
    transaction.on_commit(lambda: run_in_server(lambda: retire(pk)))


def on_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Disabled, or renamed: close its sessions here now, elsewhere by flag or poll."""
    entry = _by_pk.get(instance.pk)
    if not instance.enabled:
        _request_close_rows(instance.pk)
        _retire_after_commit(instance.pk)
    elif entry is not None and entry.slug != instance.slug:
        _retire_after_commit(instance.pk)


def on_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Flag the rows before the foreign key is nulled, then close here."""
    _request_close_rows(instance.pk)
    _retire_after_commit(instance.pk)


def on_groups_changed(sender: Any, instance: Any, action: str, **kwargs: Any) -> None:
    """A group change is an edit: bump ``updated`` so servers rebuild the rule."""

    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    if isinstance(instance, NotebookRow):
        pks = [instance.pk]
    else:  # changed from the group's side
        pks = list(kwargs.get("pk_set") or instance.notebooks.values_list("pk", flat=True))
    NotebookRow.objects.filter(pk__in=pks).update(updated=timezone.now())


def connect_signals() -> None:

    post_save.connect(on_save, sender=NotebookRow, dispatch_uid="notebook_host.on_save")
    pre_delete.connect(on_delete, sender=NotebookRow, dispatch_uid="notebook_host.on_delete")
    m2m_changed.connect(
        on_groups_changed,
        sender=NotebookRow.allowed_groups.through,
        dispatch_uid="notebook_host.on_groups_changed",
    )
