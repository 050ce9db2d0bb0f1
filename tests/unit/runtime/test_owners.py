"""notebook_host.runtime.owners: owner keys from raw cookies, no database."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from notebook_host.runtime.owners import (
    OWNER_COOKIE,
    ensure_owner_cookie,
    key_from_cookies,
    owner_key,
    same_owner,
)


def scope(cookie: str) -> dict:
    return {"type": "websocket", "headers": [(b"host", b"x"), (b"cookie", cookie.encode())]}


def test_django_session_cookie_wins_and_is_hashed() -> None:
    key = owner_key(scope(f"sessionid=abc; {OWNER_COOKIE}=zzz"))
    assert key == key_from_cookies({"sessionid": "abc"})
    assert key is not None and "abc" not in key
    assert key != key_from_cookies({"sessionid": "abd"})


def test_anonymous_browser_cookie_and_no_cookie() -> None:
    assert owner_key(scope(f"{OWNER_COOKIE}=zzz")) == key_from_cookies({OWNER_COOKIE: "zzz"})
    assert owner_key(scope("theme=dark")) is None
    assert owner_key({"type": "http", "headers": []}) is None
    # a Django session id and a browser id with the same value never collide
    assert key_from_cookies({"sessionid": "v"}) != key_from_cookies({OWNER_COOKIE: "v"})


def test_scope_and_request_agree() -> None:
    request = RequestFactory().get("/", HTTP_COOKIE="sessionid=abc")
    assert owner_key(request) == owner_key(scope("sessionid=abc"))


def test_key_depends_on_secret_key() -> None:
    before = key_from_cookies({"sessionid": "abc"})
    with override_settings(SECRET_KEY="another-secret-key-for-this-test"):
        assert key_from_cookies({"sessionid": "abc"}) != before


def test_same_owner_needs_a_key_on_both_sides() -> None:
    assert same_owner("k", "k")
    assert not same_owner("k", "j")
    assert not same_owner(None, None)
    assert not same_owner("k", None)


def test_owner_cookie_set_once_httponly_lax_and_private() -> None:
    factory = RequestFactory()
    response = HttpResponse()
    ensure_owner_cookie(factory.get("/"), response)
    cookie = response.cookies[OWNER_COOKIE]
    assert len(cookie.value) >= 40
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["path"] == "/"
    assert "private" in response["Cache-Control"]
    secure = HttpResponse()
    ensure_owner_cookie(factory.get("/", secure=True), secure)
    assert secure.cookies[OWNER_COOKIE]["secure"]
    again = HttpResponse()
    ensure_owner_cookie(factory.get("/", HTTP_COOKIE=f"{OWNER_COOKIE}=x"), again)
    assert OWNER_COOKIE not in again.cookies
