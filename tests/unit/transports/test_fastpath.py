"""The kernel API fast path: which calls it takes, and that it passes the rest on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from notebook_host.backends import local as local_backend
from notebook_host.marimo.protocol import PAGE_SCOPE_KEY
from notebook_host.runtime import session_directory
from notebook_host.runtime.owners import OWNER_COOKIE, key_from_cookies
from notebook_host.targets.access import parse_rule
from notebook_host.targets.notebook import ServedNotebook
from notebook_host.transports import fastpath

COOKIE = "abc123sessionkey"
PATH = "/sales/report/api/kernel/set_ui_element_value"


class FakeApp:
    """Stands in for a MarimoApp: knows its session ids, records calls."""

    def __init__(self, *ids: str) -> None:
        self.ids = list(ids)
        self.calls: list[dict[str, Any]] = []
        self.touched = 0

    def has_session(self, session_id: str) -> bool:
        return session_id in self.ids

    def touch(self) -> None:
        self.touched += 1

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        message = await receive()
        body = json.dumps({"got": message["body"].decode()}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> session_directory.LocalRecord:
    directory = session_directory.InProcessSessionDirectory()
    monkeypatch.setattr(session_directory, "directory", directory)
    file = tmp_path / "report.py"
    file.write_text("# a notebook\n")
    nb = ServedNotebook(file=file, access=parse_rule("login", where="t"))
    rec = session_directory.LocalRecord(
        session_id="s_1",
        notebook=nb,
        page_query=b"region=eu",
        user_id=7,
        app=FakeApp("s_1"),  # type: ignore[arg-type]
        user_info={"username": "alice"},
        prefix="/sales/report",
        owner=key_from_cookies({"sessionid": COOKIE}),
        meta={"tenant": "acme"},
        path_params={"year": 2026},
    )
    directory.record(rec)
    return rec


def scope(**changes: Any) -> dict[str, Any]:
    headers = {
        b"host": b"testserver",
        b"origin": b"http://testserver",
        b"cookie": f"sessionid={COOKIE}; csrftoken=x; theme=dark".encode(),
        b"marimo-session-id": b"s_1",
        b"marimo-server-token": b"tok",
        b"content-type": b"application/json",
        b"content-length": b"2",
    }
    headers.update(changes.pop("headers", {}))
    base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k, v) for k, v in headers.items() if v is not None],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    base.update(changes)
    return base


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_the_owner_s_call_gets_the_session_s_scope(record: session_directory.LocalRecord) -> None:
    found = local_backend.session_for(scope())
    assert found is not None
    rec, marimo_scope = found
    assert rec is record
    assert marimo_scope["root_path"] == "/sales/report"
    assert marimo_scope["path"] == PATH
    assert marimo_scope["user"] == {"username": "alice"}
    assert marimo_scope["meta"] == {"tenant": "acme"}
    assert marimo_scope["path_params"] == {"year": 2026}
    assert marimo_scope[PAGE_SCOPE_KEY] == {"path": "/sales/report/", "query_string": b"region=eu"}
    cookie = dict(marimo_scope["headers"])[b"cookie"]
    assert b"sessionid" not in cookie and b"csrftoken" not in cookie and b"theme=dark" in cookie


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"method": "GET"}, id="not a POST"),
        pytest.param({"type": "websocket"}, id="not http"),
        pytest.param({"path": "/sales/report/api/other"}, id="not the kernel API"),
        pytest.param({"path": "/other/api/kernel/set_ui_element_value"}, id="another page"),
        pytest.param({"headers": {b"marimo-session-id": None}}, id="no session header"),
        pytest.param({"headers": {b"marimo-session-id": b"s_9"}}, id="unknown session"),
        pytest.param({"headers": {b"cookie": b"sessionid=stolen"}}, id="another Django session"),
        pytest.param({"headers": {b"cookie": None}}, id="no session cookie"),
        pytest.param({"headers": {b"origin": b"http://evil.example"}}, id="cross-origin"),
        pytest.param({"headers": {b"origin": None}}, id="no origin or referer"),
        pytest.param({"headers": {b"host": b"evil.example"}}, id="host not allowed"),
        pytest.param({"headers": {b"content-length": None}}, id="no content-length"),
        pytest.param({"headers": {b"content-length": b"99999999"}}, id="body too large"),
    ],
)
@override_settings(ALLOWED_HOSTS=["testserver"], DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_anything_else_goes_through_django(
    record: session_directory.LocalRecord, changes: dict[str, Any]
) -> None:
    assert local_backend.session_for(scope(**changes)) is None


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_closed_session_goes_through_django(record: session_directory.LocalRecord) -> None:
    record.app.ids.clear()  # type: ignore[union-attr]
    assert local_backend.session_for(scope()) is None


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_deleted_notebook_goes_through_django(record: session_directory.LocalRecord) -> None:
    assert local_backend.session_for(scope()) is not None
    record.notebook.file.unlink()
    assert local_backend.session_for(scope()) is None


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_an_anonymous_owner_is_known_by_its_browser_cookie(
    record: session_directory.LocalRecord,
) -> None:
    record.owner = key_from_cookies({OWNER_COOKIE: "browser-1"})
    cookie = f"{OWNER_COOKIE}=browser-1".encode()
    assert local_backend.session_for(scope(headers={b"cookie": cookie})) is not None
    other = f"{OWNER_COOKIE}=browser-2".encode()
    assert local_backend.session_for(scope(headers={b"cookie": other})) is None
    assert local_backend.session_for(scope(headers={b"cookie": None})) is None


class Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.scopes: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    async def django(self, scope: dict, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def receive_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"{}", "more_body": False}


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_middleware_calls_marimo_directly(record: session_directory.LocalRecord) -> None:
    out = Recorder()
    await fastpath.KernelAPIFastPath(out.django)(scope(), receive_body, out.send)
    assert out.scopes == []
    assert out.messages[0]["status"] == 200
    assert json.loads(out.messages[1]["body"]) == {"got": "{}"}
    assert record.app.touched == 1  # type: ignore[union-attr]


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_middleware_passes_other_calls_to_django(
    record: session_directory.LocalRecord,
) -> None:
    out = Recorder()
    await fastpath.KernelAPIFastPath(out.django)(
        scope(headers={b"cookie": b"sessionid=other"}), receive_body, out.send
    )
    assert len(out.scopes) == 1 and out.messages[0]["status"] == 418
    assert record.app.calls == []  # type: ignore[union-attr]


@override_settings(ALLOWED_HOSTS=["testserver"], NOTEBOOK_HOST={"KERNEL_API_FAST_PATH": False})
async def test_the_setting_turns_it_off(record: session_directory.LocalRecord) -> None:
    out = Recorder()
    await fastpath.KernelAPIFastPath(out.django)(scope(), receive_body, out.send)
    assert len(out.scopes) == 1
    assert record.app.calls == []  # type: ignore[union-attr]


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_a_body_marimo_cannot_take_goes_to_the_view(
    record: session_directory.LocalRecord,
) -> None:
    async def bad_body() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{not json", "more_body": False}

    out = Recorder()
    await fastpath.KernelAPIFastPath(out.django)(scope(), bad_body, out.send)
    assert len(out.scopes) == 1  # the view answers it (400 there)
    assert record.app.calls == []  # type: ignore[union-attr]


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_a_body_in_several_chunks_reaches_marimo_whole(
    record: session_directory.LocalRecord,
) -> None:
    parts = iter([b'{"a"', b": 1}"])

    async def chunked() -> dict[str, Any]:
        part = next(parts)
        return {"type": "http.request", "body": part, "more_body": part == b'{"a"'}

    out = Recorder()
    await fastpath.KernelAPIFastPath(out.django)(scope(), chunked, out.send)
    assert json.loads(out.messages[1]["body"]) == {"got": '{"a": 1}'}
