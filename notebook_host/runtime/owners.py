"""Who owns a kernel session: an owner key computed from the request's cookies.

A kernel session belongs to the browser session that opened its websocket.
The key is read from raw cookies only, with no database query, so any code
path (Django view, websocket consumer, or a bare ASGI fast path) can check
ownership from the ASGI scope alone:

- with a Django session cookie (every signed-in user), the key is a keyed
  hash of that cookie: it changes on login and logout, so a session opened
  by alice can never be driven by bob in the same browser after a switch;
- without one (anonymous visitors), the key is a keyed hash of our own
  random browser cookie, set by the notebook page. We chose a separate
  cookie over creating a Django session for every anonymous page view: it
  costs no database row per visitor, and works with any SESSION_ENGINE.

Keys are HMACs under SECRET_KEY, so the session directory never holds a
usable session cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.utils.cache import patch_cache_control
from django.utils.crypto import salted_hmac

#: The anonymous browser's cookie: random, HttpOnly, SameSite=Lax.
OWNER_COOKIE = "notebook_host_owner"

_SALT = "notebook_host.runtime.owners.owner_key"


def scope_cookies(scope: dict[str, Any]) -> dict[str, str]:
    """The cookies of an ASGI scope (HTTP or websocket), from its raw headers."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            return cast(dict[str, str], parse_cookie(value.decode("latin-1")))
    return {}


def key_from_cookies(cookies: dict[str, str]) -> str | None:
    """The owner key for these cookies; None when the client carries neither."""
    django_session = cookies.get(settings.SESSION_COOKIE_NAME)
    if django_session:
        return cast(str, salted_hmac(_SALT, "session:" + django_session).hexdigest())
    browser = cookies.get(OWNER_COOKIE)
    if browser:
        return cast(str, salted_hmac(_SALT, "browser:" + browser).hexdigest())
    return None


def owner_key(scope_or_request: dict[str, Any] | HttpRequest) -> str | None:
    """The owner key of a raw ASGI scope or a Django request (no database query)."""
    if isinstance(scope_or_request, HttpRequest):
        return key_from_cookies(scope_or_request.COOKIES)
    return key_from_cookies(scope_cookies(scope_or_request))


def same_owner(recorded: str | None, key: str | None) -> bool:
    """True when ``key`` is the recorded owner; a missing key owns nothing."""
    if recorded is None or key is None:
        return False
    return hmac.compare_digest(recorded, key)


def ensure_owner_cookie(request: HttpRequest, response: HttpResponse) -> None:
    """Give a browser its owner cookie with the page that opens a kernel.

    The page carrying a fresh cookie is marked private so no shared cache
    hands one visitor's cookie to another.
    """
    if request.COOKIES.get(OWNER_COOKIE):
        return
    response.set_cookie(
        OWNER_COOKIE,
        secrets.token_urlsafe(32),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    patch_cache_control(response, private=True)
