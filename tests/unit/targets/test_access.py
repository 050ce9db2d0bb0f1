"""notebook_host.targets.access: rules parsed at import time, decided in one function."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404

from devtools.users import create_test_users
from notebook_host.targets.access import AccessRule, CallableRule, Decision, decide, parse_rule
from notebook_host.targets.notebook import ServedNotebook

WHERE = "notebook('x/', 'x.py')"


def make_notebook(access: Any) -> ServedNotebook:
    return ServedNotebook(file=Path("/nb/x.py"), access=parse_rule(access, where=WHERE), route="x/")


def run_decide(user: Any, access: Any) -> Decision:
    """Decide from a sync test: sync_to_async work comes back to this thread (and its DB)."""
    return async_to_sync(decide)(user, make_notebook(access))


@pytest.fixture
def users(db) -> dict[str, Any]:
    create_test_users()
    User = get_user_model()
    User.objects.create_user("dave", password="x", is_active=False)
    User.objects.create_user("zed", password="x", is_active=False, is_superuser=True)
    User.objects.create_user("sue", password="x", is_staff=False, is_superuser=True)
    return {u.username: u for u in User.objects.all()}


# parse_rule -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["public", "login", "staff", "superuser"])
def test_parse_named_rules(name: str) -> None:
    rule = parse_rule(name, where=WHERE)
    assert type(rule) is AccessRule
    assert rule.label == name
    assert rule.permission is None
    assert rule.test is None


@pytest.mark.parametrize("perm", ["auth.view_user", "reports.view_sales_dashboard"])
def test_parse_permission(perm: str) -> None:
    rule = parse_rule(perm, where=WHERE)
    assert type(rule) is AccessRule
    assert rule.permission == perm
    assert rule.label == perm


def test_parse_sync_callable() -> None:
    def only_staff(user, notebook):
        return user.is_staff

    rule = parse_rule(only_staff, where=WHERE)
    assert isinstance(rule, CallableRule)
    assert rule.test is only_staff
    assert rule.permission is None
    assert "only_staff" in rule.label


def test_parse_async_callable() -> None:
    async def check(user, notebook):
        return True

    rule = parse_rule(check, where=WHERE)
    assert isinstance(rule, CallableRule)
    assert rule.test is check


@pytest.mark.parametrize(
    "value",
    ["admin", "a.b.c", 3, "", ".codename", "app.", "Public", None, ["public"]],
)
def test_parse_bad_values_raise_naming_where(value: Any) -> None:
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_rule(value, where=WHERE)
    message = str(excinfo.value)
    assert message.startswith(WHERE)
    assert repr(value) in message
    assert "'public'" in message  # lists what is allowed


# decide: named rules ----------------------------------------------------------


async def test_anonymous_public_is_allowed() -> None:
    assert await decide(AnonymousUser(), make_notebook("public")) is Decision.ALLOW


@pytest.mark.parametrize("rule", ["login", "staff", "superuser", "auth.view_user"])
async def test_anonymous_is_sent_to_login(rule: str) -> None:
    assert await decide(AnonymousUser(), make_notebook(rule)) is Decision.LOGIN


@pytest.mark.parametrize(
    ("username", "rule", "expected"),
    [
        # alice: active, no staff, no permission.
        ("alice", "public", Decision.ALLOW),
        ("alice", "login", Decision.ALLOW),
        ("alice", "staff", Decision.NOT_FOUND),
        ("alice", "superuser", Decision.NOT_FOUND),
        ("alice", "auth.view_user", Decision.NOT_FOUND),
        # bob: staff.
        ("bob", "login", Decision.ALLOW),
        ("bob", "staff", Decision.ALLOW),
        ("bob", "superuser", Decision.NOT_FOUND),
        ("bob", "auth.view_user", Decision.NOT_FOUND),
        # root: superuser (staff, and every permission).
        ("root", "staff", Decision.ALLOW),
        ("root", "superuser", Decision.ALLOW),
        ("root", "auth.view_user", Decision.ALLOW),
        # sue: superuser without is_staff still passes "staff".
        ("sue", "staff", Decision.ALLOW),
        ("sue", "superuser", Decision.ALLOW),
        # carol: holds auth.view_user and nothing else.
        ("carol", "auth.view_user", Decision.ALLOW),
        ("carol", "auth.change_user", Decision.NOT_FOUND),
        ("carol", "staff", Decision.NOT_FOUND),
        # dave: inactive; zed: inactive superuser.
        ("dave", "public", Decision.ALLOW),
        ("dave", "login", Decision.NOT_FOUND),
        ("zed", "login", Decision.NOT_FOUND),
        ("zed", "staff", Decision.NOT_FOUND),
        ("zed", "superuser", Decision.NOT_FOUND),
        ("zed", "auth.view_user", Decision.NOT_FOUND),
    ],
)
def test_decide_named_rules(
    users: dict[str, Any], username: str, rule: str, expected: Decision
) -> None:
    assert run_decide(users[username], rule) is expected


def test_permission_granted_through_a_group(users: dict[str, Any]) -> None:
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.get(name="analysts")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="auth", codename="change_user")
    )
    alice = get_user_model().objects.get(username="alice")  # fresh permission cache
    assert run_decide(alice, "auth.change_user") is Decision.ALLOW


# decide: callables ------------------------------------------------------------


def test_sync_callable_gets_user_and_notebook_and_may_use_the_orm(
    users: dict[str, Any],
) -> None:
    seen: list[tuple[Any, Any, threading.Thread]] = []

    def rule(user, notebook):
        seen.append((user, notebook, threading.current_thread()))
        return get_user_model().objects.filter(pk=user.pk, groups__name="sales").exists()

    nb = make_notebook(rule)
    assert async_to_sync(decide)(users["carol"], nb) is Decision.ALLOW
    assert async_to_sync(decide)(users["alice"], nb) is Decision.NOT_FOUND
    assert [s[0].username for s in seen] == ["carol", "alice"]
    assert all(s[1] is nb for s in seen)


async def test_sync_callable_runs_outside_the_event_loop_thread() -> None:
    loop_thread = threading.current_thread()
    threads: list[threading.Thread] = []

    def rule(user, notebook):
        threads.append(threading.current_thread())
        return True

    assert await decide(AnonymousUser(), make_notebook(rule)) is Decision.ALLOW
    assert threads and threads[0] is not loop_thread


async def test_async_callable() -> None:
    calls: list[Any] = []

    async def rule(user, notebook):
        calls.append(notebook)
        await asyncio.sleep(0)
        return user.is_authenticated

    nb = make_notebook(rule)
    assert await decide(AnonymousUser(), nb) is Decision.LOGIN
    assert calls == [nb]


def test_async_callable_with_users(users: dict[str, Any]) -> None:
    async def only_carol(user, notebook):
        return user.username == "carol"

    assert run_decide(users["carol"], only_carol) is Decision.ALLOW
    assert run_decide(users["alice"], only_carol) is Decision.NOT_FOUND
    assert run_decide(AnonymousUser(), only_carol) is Decision.LOGIN


async def test_sync_callable_returning_awaitable() -> None:
    async def check(user):
        return True

    assert await decide(AnonymousUser(), make_notebook(lambda u, n: check(u))) is Decision.ALLOW


@pytest.mark.parametrize("result", [1, "yes", [0]])
async def test_callable_truthy_result_allows(result: Any) -> None:
    assert await decide(AnonymousUser(), make_notebook(lambda u, n: result)) is Decision.ALLOW


@pytest.mark.parametrize("result", [0, None, "", []])
async def test_callable_falsy_result_refuses(result: Any) -> None:
    assert await decide(AnonymousUser(), make_notebook(lambda u, n: result)) is Decision.LOGIN


def _raise(exc: Exception):
    def sync_rule(user, notebook):
        raise exc

    async def async_rule(user, notebook):
        raise exc

    return [sync_rule, async_rule]


@pytest.mark.parametrize("rule", _raise(PermissionDenied("nope")), ids=["sync", "async"])
def test_permission_denied(users: dict[str, Any], rule: Any) -> None:
    assert run_decide(AnonymousUser(), rule) is Decision.LOGIN
    assert run_decide(users["alice"], rule) is Decision.NOT_FOUND
    assert run_decide(users["root"], rule) is Decision.NOT_FOUND


@pytest.mark.parametrize("rule", _raise(Http404("hidden")), ids=["sync", "async"])
def test_http404_is_always_not_found(users: dict[str, Any], rule: Any) -> None:
    assert run_decide(AnonymousUser(), rule) is Decision.NOT_FOUND
    assert run_decide(users["alice"], rule) is Decision.NOT_FOUND
    assert run_decide(users["root"], rule) is Decision.NOT_FOUND


async def test_other_exceptions_propagate() -> None:
    def rule(user, notebook):
        raise ValueError("bug in project rule")

    with pytest.raises(ValueError, match="bug in project rule"):
        await decide(AnonymousUser(), make_notebook(rule))


async def test_callable_object_with_async_call() -> None:
    class SignedIn:
        async def __call__(self, user, notebook):
            return user.is_authenticated

    assert await decide(AnonymousUser(), make_notebook(SignedIn())) is Decision.LOGIN
