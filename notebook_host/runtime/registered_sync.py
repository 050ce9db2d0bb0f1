"""Keeping this process's runtime in step with the targets: registered rows and files.

Targets (:mod:`notebook_host.targets`) say what changed through
:mod:`notebook_host.targets.signals`; here the runtime acts on it: a changed
source retires the notebook's app, a registered row disabled, deleted or
renamed (by this process, or by another one, seen on the poll of
:mod:`.session_rows`) has its sessions closed and its app dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.utils import timezone

from ..models import LiveSession
from ..models import Notebook as NotebookRow
from ..targets import signals
from ..targets.notebook import ServedNotebook
from ..targets.registered import CACHE_IDLE_SECONDS, by_pk
from . import session_directory, session_rows
from .notebook_apps import apps


def forget_app(sender: Any, notebook: ServedNotebook, **kwargs: Any) -> None:
    """``source_changed``: new sessions of ``notebook`` get a new app."""
    apps.forget(notebook)


def keep_watching(sender: Any, **kwargs: Any) -> None:
    """``rows_in_use``: poll the registered rows while some are cached."""
    session_rows.watch(watch_rows)
    session_rows.ensure_polling()


async def on_slug_gone(sender: Any, slug: str, **kwargs: Any) -> None:
    """``slug_gone``: no enabled row has ``slug``; stop serving it here."""
    await retire_slug(slug)


async def retire(pk: int) -> None:
    """Stop serving row ``pk`` in this process: close its sessions, drop its app."""
    entry = by_pk.pop(pk, None)
    if entry is None:
        return
    notebook = entry.notebook
    await session_rows.close_local(notebook=notebook)
    for app in apps_of(notebook):
        app.close_all_sessions()
    apps.forget(notebook)


async def retire_slug(slug: str) -> None:
    for entry in [e for e in list(by_pk.values()) if e.slug == slug]:
        await retire(entry.pk)


def apps_of(notebook: ServedNotebook) -> list[Any]:
    """The apps (current or retired) of ``notebook`` in this process."""
    found = {id(a): a for a in session_directory.directory.apps_of(notebook)}
    current = apps.peek(notebook)
    if current is not None:
        found[id(current)] = current
    return list(found.values())


async def close_all(pk: int) -> int:
    """Close every session of row ``pk`` held by this process; returns how many."""
    entry = by_pk.get(pk)
    if entry is None:
        return 0
    count = await session_rows.close_local(notebook=entry.notebook)
    for app in apps_of(entry.notebook):
        count = max(count, app.session_count())
        app.close_all_sessions()
    return count


async def watch_rows() -> None:
    """Poll: retire cached rows another process disabled, deleted or renamed.

    Rows unused for a while whose app is gone leave the cache, so a process
    stops polling once nobody uses registered notebooks.
    """
    now = time.monotonic()
    for pk, entry in list(by_pk.items()):
        if now - entry.used > CACHE_IDLE_SECONDS and not apps_of(entry.notebook):
            by_pk.pop(pk, None)
    if not by_pk:
        session_rows.unwatch(watch_rows)
        return

    pks = list(by_pk)
    live = {
        pk: slug
        async for pk, slug in NotebookRow.objects.filter(pk__in=pks, enabled=True).values_list(
            "pk", "slug"
        )
    }
    for pk in pks:
        cached = by_pk.get(pk)
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


# -- keeping servers in step with the table (connected in apps.ready) ----------------


def _request_close_rows(pk: int) -> None:
    session_rows.request_close(LiveSession.objects.filter(notebook_id=pk))


def _retire_after_commit(pk: int) -> None:
    transaction.on_commit(lambda: run_in_server(lambda: retire(pk)))


def on_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Disabled, or renamed: close its sessions here now, elsewhere by flag or poll."""
    entry = by_pk.get(instance.pk)
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
    """The registered rows' model signals and what targets tell the runtime."""
    post_save.connect(on_save, sender=NotebookRow, dispatch_uid="notebook_host.on_save")
    pre_delete.connect(on_delete, sender=NotebookRow, dispatch_uid="notebook_host.on_delete")
    m2m_changed.connect(
        on_groups_changed,
        sender=NotebookRow.allowed_groups.through,
        dispatch_uid="notebook_host.on_groups_changed",
    )

    signals.source_changed.connect(forget_app, dispatch_uid="notebook_host.forget_app")
    signals.rows_in_use.connect(keep_watching, dispatch_uid="notebook_host.keep_watching")
    signals.slug_gone.connect(on_slug_gone, dispatch_uid="notebook_host.on_slug_gone")
