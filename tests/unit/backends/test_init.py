"""The kernel backend: chosen once by KERNELS, and what the transports ask it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, override_settings

from notebook_host import backends, signout
from notebook_host.backends import KernelBackend, KernelCall, Readiness, kernels
from notebook_host.backends.local import LocalBackend
from notebook_host.transports import fastpath


class RecordingBackend(KernelBackend):
    """A backend of a project's own, named by dotted path: it takes every call."""

    name = "recording"
    consumer = "notebook_host.transports.websocket.NotebookConsumer"
    calls: list[tuple[str, bytes]] = []
    ended: list[str] = []

    async def find_call(self, scope: dict[str, Any]) -> KernelCall | None:
        if scope.get("method") != "POST":
            return None
        return KernelCall("s1", "api/kernel/set_ui_element_value", dict(scope), None)

    async def send_call(self, call: KernelCall, body: bytes, receive: Any, send: Any) -> None:
        self.calls.append((call.session_id, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def readiness(self) -> Readiness:
        return Readiness(ready=False, counts={"recording": 1})

    async def end_sessions_of(self, owner: str) -> list[str]:
        self.ended.append(owner)
        return ["s1"]


OWN = f"{__name__}.RecordingBackend"


def test_local_is_the_default() -> None:
    assert isinstance(kernels(), LocalBackend)
    assert kernels() is kernels()  # one per process


@override_settings(NOTEBOOK_HOST={"KERNELS": "workers"})
def test_workers_is_named_by_its_short_name() -> None:
    from notebook_host.workers.backend import WorkersBackend  # the optional Redis packages

    assert isinstance(kernels(), WorkersBackend) and kernels().uses_workers


def test_a_settings_change_chooses_again() -> None:
    with override_settings(NOTEBOOK_HOST={"KERNELS": OWN}):
        assert isinstance(kernels(), RecordingBackend)
    assert isinstance(kernels(), LocalBackend)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("threads", "must be 'local', 'workers' or the dotted path"),
        ("notebook_host.nowhere.Backend", "cannot be imported"),
        ("notebook_host.backends.local.session_for", "is not a KernelBackend subclass"),
    ],
)
def test_a_wrong_value_says_what_is_wrong(value: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=says):
        backends.backend_class(value)
    with override_settings(NOTEBOOK_HOST={"KERNELS": value}):
        found = [m for m in checks.run_checks() if m.id == "notebook_host.E101"]
        assert len(found) == 1 and says in found[0].msg


def test_a_backend_of_ones_own_passes_the_checks() -> None:
    with override_settings(NOTEBOOK_HOST={"KERNELS": OWN}):
        assert not [m for m in checks.run_checks() if m.id == "notebook_host.E101"]


async def test_the_fast_path_hands_calls_to_the_chosen_backend() -> None:
    sent: list[dict[str, Any]] = []
    django_scopes: list[dict[str, Any]] = []

    async def django(scope: dict[str, Any], receive: Any, send: Any) -> None:
        django_scopes.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"x": 1}', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    RecordingBackend.calls.clear()
    with override_settings(NOTEBOOK_HOST={"KERNELS": OWN}):
        middleware = fastpath.KernelAPIFastPath(django)
        await middleware({"type": "http", "method": "POST", "path": "/x"}, receive, send)
        await middleware({"type": "http", "method": "GET", "path": "/x"}, receive, send)
    assert RecordingBackend.calls == [("s1", b'{"x": 1}')]
    assert sent[0]["status"] == 200
    assert [s["method"] for s in django_scopes] == ["GET"]  # not the backend's: Django's


async def test_sign_out_asks_the_chosen_backend() -> None:
    RecordingBackend.ended.clear()
    with override_settings(NOTEBOOK_HOST={"KERNELS": OWN}):
        assert await signout.end_sessions_of("owner-1") == ["s1"]
    assert RecordingBackend.ended == ["owner-1"]


async def test_the_local_backend_needs_nothing_but_the_database() -> None:
    backend = LocalBackend()
    assert await backend.readiness() == Readiness(ready=True)
    assert await backend.end_sessions_of("nobody") == []


@pytest.mark.django_db
async def test_health_reports_what_the_backend_says() -> None:
    with override_settings(NOTEBOOK_HOST={"KERNELS": OWN}):
        response = await AsyncClient().get("/registered/health/ready/")
    assert response.status_code == 503
    assert response.json()["recording"] == 1 and response.json()["database"] == "ok"
