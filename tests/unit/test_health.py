"""notebook_host.health: the load balancer endpoint, in process and live."""

from __future__ import annotations

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

    from tests.support.users import create_test_users

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
