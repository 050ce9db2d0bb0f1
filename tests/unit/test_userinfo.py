"""notebook_host.userinfo: the user dict and request meta a notebook sees."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from devtools.users import create_test_users
from notebook_host import userinfo
from notebook_host.userinfo import ANONYMOUS, default_user_info, request_meta, user_info

KEYS = {
    "id",
    "username",
    "email",
    "display_name",
    "is_authenticated",
    "is_staff",
    "is_superuser",
    "groups",
}


# Hooks named by dotted path in the tests below.


def sync_user_hook(user) -> dict:
    return {"who": user.username or "nobody", "thread": threading.current_thread().name}


async def async_user_hook(user) -> dict:
    return {"who": user.username or "nobody", "async": True}


def list_user_hook(user) -> list:
    return [user.username]


async def async_none_hook(user) -> None:
    return None


async def async_meta_hook(request) -> dict:
    return {"path": request.path, "async": True}


def str_meta_hook(request) -> str:
    return "tenant=acme"


@pytest.fixture
def users(db) -> dict[str, Any]:
    create_test_users()
    return {u.username: u for u in get_user_model().objects.all()}


# default_user_info ----------------------------------------------------------


def test_default_user_info_anonymous() -> None:
    info = default_user_info(AnonymousUser())
    assert info == {
        "id": None,
        "username": "",
        "email": "",
        "display_name": "",
        "is_authenticated": False,
        "is_staff": False,
        "is_superuser": False,
        "groups": [],
    }
    assert info is not ANONYMOUS


def test_default_user_info_none_is_anonymous() -> None:
    assert default_user_info(None) == ANONYMOUS


def test_default_user_info_anonymous_groups_are_not_shared() -> None:
    saved = list(ANONYMOUS["groups"])
    try:
        default_user_info(AnonymousUser())["groups"].append("guests")
        assert default_user_info(AnonymousUser())["groups"] == []
    finally:
        ANONYMOUS["groups"][:] = saved


def test_default_user_info_user_with_groups(users: dict[str, Any]) -> None:
    carol = users["carol"]
    info = default_user_info(carol)
    assert info == {
        "id": carol.pk,
        "username": "carol",
        "email": "carol@example.com",
        "display_name": "Carol Tester",
        "is_authenticated": True,
        "is_staff": False,
        "is_superuser": False,
        "groups": ["analysts", "sales"],
    }
    json.dumps(info)  # JSON-safe: it travels to the kernel


def test_default_user_info_groups_are_sorted(users: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group

    alice = users["alice"]
    alice.groups.add(Group.objects.create(name="aardvarks"), Group.objects.create(name="zebras"))
    assert default_user_info(alice)["groups"] == ["aardvarks", "analysts", "zebras"]


def test_default_user_info_display_name_falls_back_to_username(users: dict[str, Any]) -> None:
    bob = users["bob"]
    assert bob.get_full_name() == ""
    info = default_user_info(bob)
    assert info["display_name"] == "bob"
    assert info["is_staff"] is True
    assert info["is_superuser"] is False
    assert info["groups"] == []


def test_default_user_info_superuser(users: dict[str, Any]) -> None:
    info = default_user_info(users["root"])
    assert set(info) == KEYS
    assert info["display_name"] == "Root Tester"
    assert info["is_staff"] is True
    assert info["is_superuser"] is True


def test_default_user_info_user_without_groups_or_full_name() -> None:
    class MinimalUser:
        pk = 42
        is_authenticated = True

        def get_username(self) -> str:
            return "minimal"

    info = default_user_info(MinimalUser())
    assert info["id"] == 42
    assert info["username"] == "minimal"
    assert info["display_name"] == "minimal"
    assert info["email"] == ""
    assert info["groups"] == []
    assert info["is_staff"] is False


# user_info ------------------------------------------------------------------


async def test_user_info_default_hook_anonymous() -> None:
    assert await user_info(AnonymousUser()) == ANONYMOUS


def test_user_info_default_hook_queries_groups(users: dict[str, Any]) -> None:
    # Sync hooks run through sync_to_async, so they may use the ORM.
    info = async_to_sync(user_info)(users["carol"])
    assert info["groups"] == ["analysts", "sales"]
    assert info["display_name"] == "Carol Tester"


@override_settings(NOTEBOOK_HOST={"USER_INFO": "tests.unit.test_userinfo.sync_user_hook"})
async def test_user_info_sync_hook_runs_in_a_thread() -> None:
    info = await user_info(AnonymousUser())
    assert info["who"] == "nobody"
    assert info["thread"] != threading.current_thread().name


@override_settings(NOTEBOOK_HOST={"USER_INFO": "tests.unit.test_userinfo.async_user_hook"})
async def test_user_info_async_hook() -> None:
    assert await user_info(AnonymousUser()) == {"who": "nobody", "async": True}


async def test_user_info_callable_in_settings() -> None:
    with override_settings(NOTEBOOK_HOST={"USER_INFO": lambda user: {"from": "lambda"}}):
        assert await user_info(AnonymousUser()) == {"from": "lambda"}


def test_user_info_hook_gets_the_user(users: dict[str, Any]) -> None:
    with override_settings(NOTEBOOK_HOST={"USER_INFO": "tests.unit.test_userinfo.async_user_hook"}):
        assert async_to_sync(user_info)(users["alice"]) == {"who": "alice", "async": True}


@pytest.mark.parametrize(
    ("hook", "type_name"),
    [
        ("tests.unit.test_userinfo.list_user_hook", "list"),
        ("tests.unit.test_userinfo.async_none_hook", "NoneType"),
    ],
)
async def test_user_info_hook_must_return_a_dict(hook: str, type_name: str) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"USER_INFO": hook}),
        pytest.raises(TypeError, match=f"USER_INFO hook must return a dict, got {type_name}"),
    ):
        await user_info(AnonymousUser())


async def test_user_info_hook_object_with_async_call() -> None:
    class Hook:
        async def __call__(self, user):
            return {"ok": True}

    with override_settings(NOTEBOOK_HOST={"USER_INFO": Hook()}):
        assert await user_info(AnonymousUser()) == {"ok": True}


# request_meta -----------------------------------------------------------------


async def test_request_meta_without_hook_is_empty() -> None:
    request = RequestFactory().get("/x/")
    with override_settings(NOTEBOOK_HOST={}):
        assert await request_meta(request) == {}


async def test_request_meta_with_the_test_settings_hook() -> None:
    # tests/projects/default/settings.py names tests.support.hooks.request_meta.
    assert await request_meta(RequestFactory().get("/x/")) == {
        "tenant": "acme",
        "source": "request",
    }
    assert await request_meta({"type": "websocket", "path": "/x/ws"}) == {
        "tenant": "acme",
        "source": "scope",
    }


async def test_request_meta_async_hook() -> None:
    with override_settings(
        NOTEBOOK_HOST={"REQUEST_META": "tests.unit.test_userinfo.async_meta_hook"}
    ):
        assert await request_meta(RequestFactory().get("/dash/")) == {
            "path": "/dash/",
            "async": True,
        }


async def test_request_meta_hook_must_return_a_dict() -> None:
    with (
        override_settings(NOTEBOOK_HOST={"REQUEST_META": "tests.unit.test_userinfo.str_meta_hook"}),
        pytest.raises(TypeError, match="REQUEST_META hook must return a dict, got str"),
    ):
        await request_meta(RequestFactory().get("/x/"))


def test_module_exports() -> None:
    assert set(userinfo.ANONYMOUS) == KEYS


def test_visible_headers_hide_session_and_csrf_cookies(settings) -> None:
    from notebook_host.userinfo import visible_headers

    settings.SESSION_COOKIE_NAME = "sessionid"
    headers = [
        (b"host", b"example.com"),
        (b"cookie", b"sessionid=abc; theme=dark; csrftoken=xyz"),
    ]
    assert visible_headers(headers) == [(b"host", b"example.com"), (b"cookie", b"theme=dark")]
    only_private = [(b"cookie", b"sessionid=abc; csrftoken=xyz")]
    assert visible_headers(only_private) == []
