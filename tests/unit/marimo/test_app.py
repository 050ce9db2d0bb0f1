"""The marimo adapter: file checks, app building and option wiring."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from notebook_host.marimo import files, frontend, patches, protocol, routes
from notebook_host.marimo.app import MarimoApp, build_app
from notebook_host.targets.options import NotebookOptions
from tests.support.paths import NOTEBOOKS

NB = NOTEBOOKS


def options(**overrides) -> NotebookOptions:
    return NotebookOptions.resolve(overrides)


def test_check_notebook_file_accepts_a_notebook() -> None:
    files.check_notebook_file(NB / "app1.py")


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("missing.py", files.NotebookMissing, "not found"),
        ("broken.py", files.NotebookLoadError, "does not parse"),
        ("not_marimo.py", files.NotebookLoadError, "not a marimo notebook"),
    ],
)
def test_check_notebook_file_errors(name: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        files.check_notebook_file(NB / name)


def test_non_utf8_file_is_a_load_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"\xff\xfe import marimo")
    with pytest.raises(files.NotebookLoadError, match="Cannot read"):
        files.check_notebook_file(bad)


def test_build_app_wires_options() -> None:
    app = build_app(
        NB / "app1.py",
        options(
            include_code=True,
            session_ttl=7,
            redirect_console_to_browser=True,
            skew_protection=False,
            html_head="<meta x>",
            quiet=True,
        ),
        base_url="/x",
    )
    manager = app.starlette.state.session_manager
    assert manager.ttl_seconds == 7
    assert manager.include_code is True
    assert manager.redirect_console_to_browser is True
    assert manager.quiet is True
    assert app.starlette.state.html_head == "<meta x>"
    assert app.starlette.state.skew_protection is False
    assert app.starlette.state.base_url == "/x"
    assert app.session_count() == 0


async def test_build_app_says_when_a_session_ends() -> None:
    ended: list[str] = []
    app = build_app(
        NB / "app1.py", options(), base_url="", on_session_closed=lambda: ended.append("x")
    )
    manager = app.starlette.state.session_manager
    await manager.event_bus.emit_session_created(object())
    assert ended == []
    await manager.event_bus.emit_session_closed(object())  # what close_session emits
    assert ended == ["x"]


def test_build_app_refuses_bad_files() -> None:
    with pytest.raises(files.NotebookMissing):
        build_app(NB / "missing.py", options(), base_url="")
    with pytest.raises(files.NotebookLoadError):
        build_app(NB / "not_marimo.py", options(), base_url="")


def test_frontend_dir_holds_the_built_frontend() -> None:
    root = frontend.frontend_dir()
    assert (root / "index.html").is_file()
    assert any((root / "assets").iterdir())
    for name in routes.FRONTEND_FILE_ROUTES - {"assets"}:
        assert (root / name).is_file(), name


def test_kernel_sees_the_page_url_for_marked_scopes() -> None:
    from marimo._runtime.commands import HTTPRequest  # the adapter patches this
    from starlette.requests import Request

    patches.initialise()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/page/api/kernel/set_ui_element_value",
        "query_string": b"",
        "headers": [(b"host", b"example.com")],
        protocol.PAGE_SCOPE_KEY: {"path": "/page/", "query_string": b"a=1&a=2"},
    }
    request = HTTPRequest.from_request(Request(scope))
    assert request.url["path"] == "/page/"
    assert request.query_params == {"a": ["1", "2"]}
    del scope[protocol.PAGE_SCOPE_KEY]
    plain = HTTPRequest.from_request(Request(scope))
    assert plain.url["path"] == "/page/api/kernel/set_ui_element_value"


def test_entry_points_are_read_once_per_group(monkeypatch: pytest.MonkeyPatch) -> None:
    from marimo._entrypoints import registry
    from marimo._runtime.executor import evaluator

    patches.initialise()
    calls: list[object] = []
    real = importlib.metadata.entry_points

    def counting() -> object:
        calls.append(1)
        return real()

    monkeypatch.setattr(registry, "entry_points", counting)
    group = "notebook_host.test.unused"  # a group no earlier lookup filled
    assert list(registry.get_entry_points(group)) == []  # type: ignore[arg-type]
    registry.get_entry_points(group)  # type: ignore[arg-type]
    assert len(calls) == 1
    for _ in range(3):  # what marimo does on every cell run
        evaluator.resolve_executor()
    assert len(calls) <= 2  # the executor group: read at most once more


class RaisingStarlette:
    """marimo's Starlette app: answers (or not), then raises what it handled."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self.answer:
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b'{"detail": "bad"}'})
        raise ValueError("Expected `object`, got `array`")


async def call(answer: bool) -> list[dict[str, Any]]:
    app = MarimoApp(path=Path("x.py"), starlette=RaisingStarlette(answer), mtime_ns=0)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": "/p/api/kernel/set_ui_element_value"}, None, send)
    return sent


async def test_an_error_marimo_already_answered_does_not_reach_the_server() -> None:
    sent = await call(answer=True)
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == b'{"detail": "bad"}'


async def test_an_error_before_any_answer_reaches_the_server() -> None:
    with pytest.raises(ValueError, match="Expected"):
        await call(answer=False)  # the server (or the worker) answers 500
