"""What a notebook sees of the Django user and request in ``app_meta()``.

marimo flattens a non-dict user to three fields (pitfall 8 in docs/architecture.md), so we
hand it a plain dict. Both builders are replaceable through settings.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from .conf import get_hook
from .hooks import call_hook
from .runtime.owners import OWNER_COOKIE

ANONYMOUS: dict[str, Any] = {
    "id": None,
    "username": "",
    "email": "",
    "display_name": "",
    "is_authenticated": False,
    "is_staff": False,
    "is_superuser": False,
    "groups": [],
}


def default_user_info(user: Any) -> dict[str, Any]:
    """The default ``USER_INFO`` hook: a JSON-safe dict of the Django user."""
    if user is None or not user.is_authenticated:
        return {**ANONYMOUS, "groups": []}
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    return {
        "id": user.pk,
        "username": username,
        "email": getattr(user, "email", "") or "",
        "display_name": full_name or username,
        "is_authenticated": True,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "is_superuser": bool(getattr(user, "is_superuser", False)),
        "groups": sorted(user.groups.values_list("name", flat=True))
        if hasattr(user, "groups")
        else [],
    }


async def user_info(user: Any) -> dict[str, Any]:
    """Run the ``USER_INFO`` hook (sync hooks run in a thread: they may query)."""
    info = await call_hook(get_hook("USER_INFO"), user)
    if not isinstance(info, dict):
        raise TypeError(f"USER_INFO hook must return a dict, got {type(info).__name__}")
    return info


async def request_meta(request_or_scope: Any) -> dict[str, Any]:
    """Run the optional ``REQUEST_META`` hook; ``{}`` when none is set."""
    hook = get_hook("REQUEST_META")
    if hook is None:
        return {}
    meta = await call_hook(hook, request_or_scope)
    if not isinstance(meta, dict):
        raise TypeError(f"REQUEST_META hook must return a dict, got {type(meta).__name__}")
    return meta


def hidden_cookie_names() -> set[str]:
    """Cookies a notebook never sees: Django's session and CSRF cookies, and
    the owner cookie that binds kernel sessions to an anonymous browser."""
    return {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, OWNER_COOKIE}


def visible_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` without the cookies that would let notebook code act as the user.

    Notebook authors see ``app_meta().request.headers`` and ``.cookies``; the
    visitor's session cookie would let them replay the visitor's session.
    """
    hidden = hidden_cookie_names()
    kept: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name.lower() == b"cookie":
            parts = [p for p in value.split(b";") if p.strip()]
            parts = [
                p for p in parts if p.split(b"=", 1)[0].strip().decode("latin-1") not in hidden
            ]
            if not parts:
                continue
            value = b";".join(parts).strip()
        kept.append((name, value))
    return kept
