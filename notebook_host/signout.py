"""Signing out ends the kernels that browser session opened.

A kernel session is owned by the browser session whose socket opened it
(:mod:`notebook_host.runtime.owners`). Once its owner signs out, a copy of the
old session cookie must not drive the kernel any more: on Django's
``user_logged_out`` (sent before the session is flushed, so the old owner
key is still known) every session of that owner is closed by the kernel backend (here or on
its worker) and forgotten, so the fast path and the view both answer 404.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from .backends import kernels
from .runtime.owners import owner_key

logger = logging.getLogger(__name__)


async def end_sessions_of(owner: str) -> list[str]:
    """Close every kernel session ``owner`` opened, wherever the backend runs it."""
    return await kernels().end_sessions_of(owner)


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
