"""marimo's frontend through Django staticfiles: finder, asset URL, headers."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings

from notebook_host import static
from notebook_host.cache_headers import add_headers
from notebook_host.finders import MarimoAssetsFinder
from notebook_host.marimo.frontend import default_asset_url, frontend_dir, static_prefix, trim_page
from notebook_host.static import serve_collected_static

PREFIX = "marimo/0.25.2"


def test_prefix_is_versioned() -> None:
    assert static_prefix() == PREFIX


def test_finder_finds_assets_and_skips_the_template() -> None:
    finder = MarimoAssetsFinder()
    assert finder.find(f"{PREFIX}/favicon.ico").endswith("_static/favicon.ico")
    assert finder.find(f"{PREFIX}/index.html") == ""
    assert finder.find("marimo/0.0.1/favicon.ico") == ""
    assert finder.find(f"{PREFIX}/favicon.ico", find_all=True)
    listed = {path for path, _ in finder.list(None)}
    assert "favicon.ico" in listed
    assert any(path.startswith("assets/") for path in listed)
    assert "index.html" not in listed
    assert finders.find(f"{PREFIX}/favicon.ico")  # registered in the project


def test_asset_url_follows_static_url() -> None:
    assert default_asset_url() == f"/static/{PREFIX}"
    with override_settings(STATIC_URL="https://cdn.example.com/s/"):
        assert default_asset_url() == f"https://cdn.example.com/s/{PREFIX}"


def test_no_finder_keeps_page_relative_assets(settings) -> None:
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.AppDirectoriesFinder"]
    assert default_asset_url() is None


def test_cache_headers_only_for_versioned_marimo_files() -> None:
    headers: dict[str, str] = {"Cache-Control": "max-age=60, public"}
    add_headers(headers, "x", f"/static/{PREFIX}/assets/a.js")
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
    other = {"Cache-Control": "max-age=60, public"}
    add_headers(other, "x", "/static/admin/css/base.css")
    assert other["Cache-Control"] == "max-age=60, public"


async def _django_stand_in(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"DEBUG": True}, id="DEBUG: middleware and finders"),
        pytest.param({"STATIC_URL": "https://cdn.example.com/static/"}, id="CDN"),
        pytest.param({"STATIC_ROOT": None}, id="no STATIC_ROOT"),
    ],
)
def test_nothing_local_to_serve_keeps_the_app(settings, changes: dict) -> None:
    settings.DEBUG = False
    for key, value in changes.items():
        setattr(settings, key, value)
    assert serve_collected_static(_django_stand_in) is _django_stand_in


class _Sent(list):
    async def __call__(self, message: dict) -> None:
        self.append(message)


def _file_app(path: str):
    """An app that sends ``path`` by pathsend when the server offers it."""

    async def app(scope, receive, send) -> None:
        offered = "http.response.pathsend" in (scope.get("extensions") or {})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if offered:
            await send({"type": "http.response.pathsend", "path": path})
        else:
            await send({"type": "http.response.body", "body": b"streamed"})

    return app


@pytest.mark.parametrize("size", [10, static.INLINE_READ_BYTES + 5], ids=["small", "chunked"])
async def test_pathsend_turns_a_path_into_the_file_body(tmp_path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    file = tmp_path / "asset.js"
    file.write_bytes(data)
    sent = _Sent()
    await static.PathSend(_file_app(str(file)))({"type": "http", "path": "/a"}, None, sent)
    assert sent[0]["type"] == "http.response.start"
    bodies = sent[1:]
    assert all(m["type"] == "http.response.body" for m in bodies)
    assert b"".join(m["body"] for m in bodies) == data
    assert [m["more_body"] for m in bodies][-1] is False
    assert len(bodies) == (1 if size <= static.INLINE_READ_BYTES else 3)


async def test_pathsend_leaves_a_server_that_has_it_and_sockets_alone(tmp_path) -> None:
    file = tmp_path / "a.txt"
    file.write_bytes(b"abc")
    own = {"http.response.pathsend": {"own": True}}
    seen: list[dict] = []

    async def app(scope, receive, send) -> None:
        seen.append(scope)
        await _file_app(str(file))(scope, receive, send)

    sent = _Sent()
    await static.PathSend(app)({"type": "http", "extensions": own}, None, sent)
    assert seen[-1]["extensions"] is own
    assert sent[-1] == {"type": "http.response.pathsend", "path": str(file)}  # the server's job
    await static.PathSend(app)({"type": "websocket"}, None, _Sent())
    assert "extensions" not in seen[-1]


def test_collected_static_is_served_by_path(settings, tmp_path) -> None:
    settings.DEBUG = False
    settings.STATIC_ROOT = str(tmp_path)
    served = serve_collected_static(_django_stand_in)
    assert isinstance(served, static.PathSend)


def _preloads(html: str) -> list[str]:
    return re.findall(r'<link rel="preload"[^>]*href="[^"]*/([^"/]+)"', html)


def test_run_pages_drop_only_the_preloads_they_do_not_use() -> None:
    html = (frontend_dir() / "index.html").read_text()
    names = _preloads(html)
    # The pinned bundle preloads what trim_page knows by name: an upgrade
    # that renames them fails here instead of silently keeping them.
    for prefix in ("gradient-", "noise-", "FiraMono-", "PTSans-", "Lora-"):
        assert any(name.startswith(prefix) for name in names), prefix

    trimmed = trim_page(html, code_shown=False)
    kept = _preloads(trimmed)
    assert sorted(kept) == sorted(
        n for n in names if not n.startswith(("gradient-", "noise-", "FiraMono-"))
    )
    assert any(n.startswith("PTSans-") for n in kept) and any(n.startswith("Lora-") for n in kept)
    # Only the preload links went: scripts, styles and module preloads stay.
    assert trimmed.count("modulepreload") == html.count("modulepreload")
    assert trimmed.count("<script") == html.count("<script")
    assert "gradient-" in (frontend_dir() / "index.html").read_text()

    with_code = _preloads(trim_page(html, code_shown=True))
    assert sum(n.startswith("FiraMono-") for n in with_code) == 3
    assert not any(n.startswith(("gradient-", "noise-")) for n in with_code)
