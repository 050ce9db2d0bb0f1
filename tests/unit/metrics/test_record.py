"""notebook_host.metrics: bounded labels, what the hooks record, the endpoint's access."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, override_settings
from prometheus_client import REGISTRY

from notebook_host.marimo.protocol import FRAME_CELL_IDLE, FRAME_KERNEL_READY
from notebook_host.metrics import labels, record
from notebook_host.metrics.view import bearer_matches, metrics_token

TOKEN = "a-token-long-enough-1234"


def sample(name: str, **labels_: str) -> float:
    return REGISTRY.get_sample_value(name, labels_) or 0.0


@pytest.fixture(autouse=True)
def fresh_labels():
    labels.reset()
    yield
    labels.reset()


def test_label_is_the_route_not_the_file() -> None:
    assert labels.notebook_label("/app1/") == "/app1/"
    # every file of a served folder shares its pattern's label
    assert labels.notebook_label("/apps/test_app/") == "/apps/"
    assert labels.notebook_label("/apps/nested/deep/") == "/apps/"
    assert labels.notebook_label("/registered/some-slug/") == "/registered/<slug:slug>/"
    assert labels.notebook_label("/no/such/page/") == labels.OTHER


@override_settings(NOTEBOOK_HOST={"METRICS_NOTEBOOK_LABELS": 2})
def test_labels_past_the_cap_are_other() -> None:
    assert labels.notebook_label("/app1/") == "/app1/"
    assert labels.notebook_label("/app2/") == "/app2/"
    assert labels.notebook_label("/apps/x/") == labels.OTHER
    assert labels.notebook_label("/app1/") == "/app1/"  # known ones stay


def test_page_of_socket() -> None:
    assert labels.page_of_socket("/apps/x/ws") == "/apps/x/"
    assert labels.page_of_socket("/apps/x/") == "/apps/x/"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer {TOKEN}x", False),
        (TOKEN, False),
        ("Basic abc", False),
        ("", False),
        (None, False),
    ],
)
def test_bearer_matches(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, TOKEN) is ok


def test_no_token_matches_nothing() -> None:
    assert not bearer_matches("Bearer ", None)
    assert not bearer_matches("Bearer ", "")


@pytest.mark.parametrize("bad", ["short", 12345678901234567890, f" {TOKEN} "])
def test_a_bad_token_setting_is_a_clear_error(bad: object) -> None:
    with (
        override_settings(NOTEBOOK_HOST={"METRICS_TOKEN": bad}),
        pytest.raises(ImproperlyConfigured, match="METRICS_TOKEN"),
    ):
        metrics_token()


def test_kernel_start_and_widget_change_are_timed() -> None:
    started = sample("notebook_host_kernel_start_seconds_count", notebook="/app1/")
    changes = sample("notebook_host_widget_change_seconds_count")
    record.socket_opened("s_unit_1", "/app1/ws")
    record.frame_out("s_unit_1", '{"op": "cell-op", "data": {}}')
    assert sample("notebook_host_kernel_start_seconds_count", notebook="/app1/") == started
    record.frame_out("s_unit_1", FRAME_KERNEL_READY + ', "data": {}}')
    assert sample("notebook_host_kernel_start_seconds_count", notebook="/app1/") == started + 1
    # a POST that is no widget change is not timed
    record.change_posted("s_unit_1", "/app1/api/kernel/interrupt")
    record.frame_out("s_unit_1", '{"op": "cell-op", "data": {' + FRAME_CELL_IDLE + "}}")
    assert sample("notebook_host_widget_change_seconds_count") == changes
    record.change_posted("s_unit_1", "/app1/api/kernel/set_ui_element_value")
    record.frame_out("s_unit_1", '{"op": "cell-op", "data": {"status":"running"}}')
    assert sample("notebook_host_widget_change_seconds_count") == changes
    record.frame_out("s_unit_1", '{"op": "cell-op", "data": {' + FRAME_CELL_IDLE + "}}")
    assert sample("notebook_host_widget_change_seconds_count") == changes + 1


def test_pending_starts_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(record, "MAX_PENDING", 3)
    monkeypatch.setattr(record, "_starting", {})
    for index in range(10):
        record.socket_opened(f"s_bound_{index}", "/app1/ws")
    assert len(record._starting) == 3


def test_sessions_gauge_is_set_and_zeroed() -> None:
    record.socket_opened("s_unit_a", "/app2/ws")
    record.socket_opened("s_unit_b", "/app2/ws")
    record.sessions(["s_unit_a"], ["s_unit_b"])
    assert sample("notebook_host_sessions_open", notebook="/app2/", state="connected") == 1
    assert sample("notebook_host_sessions_open", notebook="/app2/", state="waiting") == 1
    record.sessions([], [])
    assert sample("notebook_host_sessions_open", notebook="/app2/", state="connected") == 0
    assert sample("notebook_host_sessions_open", notebook="/app2/", state="waiting") == 0


def test_worker_state() -> None:
    record.worker_state("wu", 5, {"a", "gone"}, {"a", "b", "c"}, True)
    assert sample("notebook_host_worker_capacity", worker="wu") == 5
    assert sample("notebook_host_worker_sessions", worker="wu", state="connected") == 1
    assert sample("notebook_host_worker_sessions", worker="wu", state="idle") == 2
    assert sample("notebook_host_worker_draining", worker="wu") == 1


@pytest.mark.django_db
async def test_endpoint_access() -> None:
    from asgiref.sync import sync_to_async
    from django.contrib.auth import get_user_model

    from devtools.users import create_test_users

    await sync_to_async(create_test_users)()
    with override_settings(NOTEBOOK_HOST={"METRICS_TOKEN": TOKEN}):
        assert (await AsyncClient().get("/registered/metrics/")).status_code == 404
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        response = await AsyncClient().get("/registered/metrics/", headers=bearer)
        assert response.status_code == 200
        assert b"notebook_host_sessions_refused_total" in response.content
        staff = AsyncClient()
        await staff.aforce_login(await get_user_model().objects.aget(username="root"))
        assert (await staff.get("/registered/metrics/")).status_code == 200
    with override_settings(NOTEBOOK_HOST={"METRICS_ACCESS": "public"}):
        assert (await AsyncClient().get("/registered/metrics/")).status_code == 200


def test_metrics_is_a_reserved_slug() -> None:
    from notebook_host.targets.registered import slug_reserved

    assert slug_reserved("metrics")
