"""notebook_host.workers.checks without Redis: packages, the core layer's capacity, E105's URL."""

from __future__ import annotations

import sys

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from notebook_host.workers import checks

WORKERS = {"KERNELS": "workers", "WORKER_MAX_SESSIONS": 50}
#: Redis on a port nothing listens on: the checks that read it say nothing.
HOSTS = ["redis://127.0.0.1:1/0"]


def layer(backend: str = "notebook_host.workers.layer.CoreChannelLayer", **config: object) -> dict:
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": HOSTS, **config}}}


def ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("notebook_host.")}


@override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=layer())
def test_core_layer_at_its_default_capacity_is_an_error() -> None:
    (problem,) = [m for m in run_checks() if m.id == "notebook_host.E106"]
    assert "(100)" in problem.msg and "50 sessions" in problem.msg
    assert "'capacity'] to 500" in problem.hint


@pytest.mark.parametrize(
    ("sessions", "capacity", "expected"),
    [(50, 500, False), (50, 499, True), (5, 100, False), (200, 1500, True)],
)
def test_capacity_follows_worker_sessions(sessions: int, capacity: int, expected: bool) -> None:
    config = {**WORKERS, "WORKER_MAX_SESSIONS": sessions}
    with override_settings(NOTEBOOK_HOST=config, CHANNEL_LAYERS=layer(capacity=capacity)):
        assert ("notebook_host.E106" in ids()) is expected


def test_channel_capacity_for_process_channels_counts() -> None:
    config = layer(channel_capacity={"specific.*": 800})
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=config):
        assert "notebook_host.E106" not in ids()


def test_pubsub_and_local_kernels_have_no_capacity_check() -> None:
    pubsub = layer("channels_redis.pubsub.RedisPubSubChannelLayer")
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=pubsub):
        assert "notebook_host.E106" not in ids()
    with override_settings(NOTEBOOK_HOST={}, CHANNEL_LAYERS=layer()):
        assert not ids() & {"notebook_host.E106", "notebook_host.E107"}


@pytest.mark.parametrize(
    "backend", ["channels_redis.core.RedisChannelLayer", layer()["default"]["BACKEND"]]
)
def test_capacity_applies_to_both_core_layers(backend: str) -> None:
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=layer(backend)):
        assert "notebook_host.E106" in ids()


def test_channels_redis_own_core_layer_is_a_warning() -> None:
    stock = layer(checks.STOCK_CORE_LAYER, capacity=500)
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=stock):
        (problem,) = [m for m in run_checks() if m.id == "notebook_host.W007"]
        assert "notebook_host.workers.layer.CoreChannelLayer" in problem.hint
        assert "notebook_host.E104" not in ids()  # it works, but loses messages
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=layer(capacity=500)):
        assert "notebook_host.W007" not in ids()  # the control: notebook_host's layer


@pytest.mark.parametrize("package", ["redis", "channels_redis"])
def test_workers_without_the_extra_is_an_error(package: str, monkeypatch) -> None:
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=layer(capacity=500)):
        assert "notebook_host.E107" not in ids()  # the control: both import
        monkeypatch.setitem(sys.modules, package, None)  # `import` now fails as if missing
        (problem,) = [m for m in run_checks() if m.id == "notebook_host.E107"]
        assert package in problem.msg and "[workers]" in problem.hint


def test_a_layer_that_is_not_redis_is_an_error() -> None:
    memory = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=memory):
        assert "notebook_host.E104" in ids()


def test_redis_checks_say_nothing_when_redis_is_unreachable() -> None:
    with override_settings(NOTEBOOK_HOST=WORKERS, CHANNEL_LAYERS=layer(capacity=500)):
        assert checks.redis_problems() == []


def test_e105_does_not_print_the_password() -> None:
    config = {**WORKERS, "REDIS_URL": "http://:hunter2@10.0.0.5:6379/0"}
    with override_settings(NOTEBOOK_HOST=config, CHANNEL_LAYERS=layer(capacity=500)):
        (problem,) = [m for m in run_checks() if m.id == "notebook_host.E105"]
        assert "hunter2" not in problem.msg and "***@10.0.0.5:6379" in problem.msg


def test_fingerprint_hides_the_key() -> None:
    from django.conf import settings

    found = checks.fingerprint()
    assert settings.SECRET_KEY not in str(found) and len(found["key"]) == 16
    with override_settings(SECRET_KEY="another-key-entirely"):
        assert checks.fingerprint()["key"] != found["key"]
