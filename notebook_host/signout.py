"""Signing out ends the kernels that browser session opened.

A kernel session is owned by the browser session whose socket opened it
(:mod:`notebook_host.runtime.owners`). Once its owner signs out, a copy of the
old session cookie must not drive the kernel any more: on Django's
``user_logged_out`` (sent before the session is flushed, so the old owner
key is still known) every session of that owner is closed, here or on its
worker, and forgotten, so the fast path and the view both answer 404.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from . import closecodes
from .runtime import session_directory, session_rows
from .runtime.owners import owner_key, same_owner
from .workers.settings import enabled as workers_enabled

logger = logging.getLogger(__name__)


async def end_local_sessions(owner: str) -> list[str]:
    """Close this process's kernel sessions of ``owner``; their ids."""
    directory = session_directory.directory
    records = [r for r in directory.live() if same_owner(r.owner, owner)]
    ids = [r.session_id for r in records]
    if not ids:
        return []
    await session_rows.close_local(session_ids=ids, code=closecodes.SIGNED_OUT)
    for record in records:
        if record.app is not None and record.app.has_session(record.session_id):
            record.app.close_session(record.session_id)
        directory.forget(record.session_id)
    return ids


async def end_worker_sessions(owner: str) -> list[str]:
    """Ask the workers to close ``owner``'s sessions, and forget them in Redis."""
    # Redis and the channel layer exist only with KERNELS = "workers".
    from channels.layers import get_channel_layer

    from .workers import state
    from .workers.protocol import CLOSE_SESSION

    layer = get_channel_layer()
    entries = await state.sessions_of(owner)
    for entry in entries:
        with contextlib.suppress(Exception):
            await layer.send(
                entry.channel,
                {
                    "type": CLOSE_SESSION,
                    "session_id": entry.session_id,
                    "code": closecodes.SIGNED_OUT,
                },
            )
        await state.forget(entry.session_id)
        await state.release(entry.limit_key, entry.session_id)
    return [e.session_id for e in entries]


async def end_sessions_of(owner: str) -> list[str]:
    """Close every kernel session ``owner`` opened, wherever it runs."""
    if workers_enabled():
        return await end_worker_sessions(owner)
    return await end_local_sessions(owner)


def on_logout(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``user_logged_out`` receiver: the signing-out browser's kernels end."""
    owner = owner_key(request) if request is not None else None
    if not owner:
        return
    try:
        ended = async_to_sync(end_sessions_of)(owner)
    except Exception:  # signing out must never fail because a kernel could not close
        logger.exception("Could not end the kernel sessions of a signed-out user")
        return
    if ended:
        logger.info("Signed out: closed %d kernel session(s): %s", len(ended), ", ".join(ended))


def connect() -> None:
    user_logged_out.connect(on_logout, dispatch_uid="notebook_host.signout")
