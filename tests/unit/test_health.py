"""notebook_host.health: the load balancer endpoint, in process and live."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError, connections
from django.test import AsyncClient, override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_reverse_and_include() -> None:
    assert reverse("notebook_host:health") == "/registered/health/"


async def test_database_down_is_503(monkeypatch) -> None:
    def broken():
        raise OperationalError("connection refused")

    # every thread's connection to the default database fails
    monkeypatch.setattr(type(connections["default"]), "cursor", broken)
    response = await AsyncClient().get("/registered/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["status"] == "unavailable"


@pytest.mark.parametrize(
    ("rule", "anonymous", "staff"),
    [("public", 200, 200), ("login", 404, 200), ("staff", 404, 200), ("superuser", 404, 404)],
)
async def test_restricted_by_setting(rule: str, anonymous: int, staff: int) -> None:
    from asgiref.sync import sync_to_async

    from devtools.users import create_test_users

    await sync_to_async(create_test_users)()
    with override_settings(NOTEBOOK_HOST={"HEALTH_ACCESS": rule}):
        assert (await AsyncClient().get("/registered/health/")).status_code == anonymous
        bob = AsyncClient()  # staff, not superuser
        await bob.aforce_login(await _user("bob"))
        assert (await bob.get("/registered/health/")).status_code == staff


async def test_callable_rule_sees_the_request() -> None:
    def from_load_balancer(request) -> bool:
        return request.headers.get("X-Probe-Token") == "s3cret"

    with override_settings(NOTEBOOK_HOST={"HEALTH_ACCESS": from_load_balancer}):
        assert (await AsyncClient().get("/registered/health/")).status_code == 404
        probe = await AsyncClient().get("/registered/health/", headers={"X-Probe-Token": "s3cret"})
        assert probe.status_code == 200


async def test_unknown_rule_fails_loudly() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(NOTEBOOK_HOST={"HEALTH_ACCESS": "everyone"}),
        pytest.raises(ImproperlyConfigured, match="HEALTH_ACCESS"),
    ):
        await AsyncClient(raise_request_exception=True).get("/registered/health/")


async def _user(username: str):
    from django.contrib.auth import get_user_model

    return await get_user_model().objects.aget(username=username)


def test_live_and_ready_reverse() -> None:
    assert reverse("notebook_host:health-live") == "/registered/health/live/"
    assert reverse("notebook_host:health-ready") == "/registered/health/ready/"


async def test_live_ignores_the_database_ready_does_not(monkeypatch) -> None:
    client = AsyncClient()
    assert (await client.get("/registered/health/ready/")).status_code == 200  # control

    def broken():
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(connections["default"]), "cursor", broken)
    live = await client.get("/registered/health/live/")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await client.get("/registered/health/ready/")
    assert ready.status_code == 503 and ready.json()["database"] == "unreachable"


#: Workers mode with Redis on a port nothing listens on: no Redis error text may leak.
DOWN = {
    "KERNELS": "workers",
    "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0",
}
LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
}


@pytest.mark.parametrize("path", ["/registered/health/", "/registered/health/ready/"])
async def test_workers_mode_redis_down_counts_only_unless_detail(path: str) -> None:
    from asgiref.sync import sync_to_async

    from devtools.users import create_test_users

    await sync_to_async(create_test_users)()
    with override_settings(NOTEBOOK_HOST=DOWN, CHANNEL_LAYERS=LAYER):
        anonymous = await AsyncClient().get(path)
        assert anonymous.status_code == 503
        body = anonymous.json()
        assert body["redis"] == "unreachable" and body["workers_alive"] == 0
        assert "redis_error" not in body and "workers" not in body
        assert "127.0.0.1" not in anonymous.text and "Error" not in anonymous.text
        assert (await AsyncClient().get("/registered/health/live/")).status_code == 200
        staff = AsyncClient()
        await staff.aforce_login(await _user("bob"))
        detailed = (await staff.get(path)).json()
        assert "Connect" in detailed["redis_error"]  # the positive control: staff sees why
        assert "hunter2" not in json.dumps(detailed)


@pytest.mark.parametrize(
    ("access", "detail", "staff_sees", "alice_sees"),
    [
        ("public", None, True, False),  # default: counts for all, detail for staff
        ("login", None, True, True),  # restricted health: those admitted see it all
        ("public", "superuser", False, False),
        ("public", "login", True, True),
    ],
)
async def test_detail_access(access: str, detail, staff_sees: bool, alice_sees: bool) -> None:
    from asgiref.sync import sync_to_async

    from devtools.users import create_test_users

    await sync_to_async(create_test_users)()
    config = {**DOWN, "HEALTH_ACCESS": access, "HEALTH_DETAIL_ACCESS": detail}
    with override_settings(NOTEBOOK_HOST=config, CHANNEL_LAYERS=LAYER):
        for username, expected in (("bob", staff_sees), ("alice", alice_sees)):
            client = AsyncClient()
            await client.aforce_login(await _user(username))
            body = (await client.get("/registered/health/")).json()
            assert ("redis_error" in body) is expected, (username, body)
