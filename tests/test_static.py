"""marimo's frontend through Django staticfiles: finder, asset URL, headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings

from notebook_host.cache_headers import add_headers
from notebook_host.finders import MarimoAssetsFinder
from notebook_host.marimo.frontend import default_asset_url, static_prefix
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


@pytest.fixture(scope="module")
def collected_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One collectstatic for the module (compressing ~700 files takes a while)."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def collected(collected_root: Path, settings) -> Path:
    """The collected STATIC_ROOT, served from there (production)."""
    settings.STATIC_ROOT = collected_root
    settings.SERVESTATIC_USE_FINDERS = False
    return collected_root


@pytest.mark.django_db
async def test_every_asset_of_the_page_resolves_after_collectstatic(collected: Path) -> None:
    client = AsyncClient()
    html = (await client.get("/app1/")).content.decode()
    refs = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(refs) > 5
    assert all(ref.startswith(f"/static/{PREFIX}/") for ref in refs)
    for ref in refs:
        assert (collected / ref.removeprefix("/static/")).is_file(), ref
    assert list(collected.glob(f"{PREFIX}/assets/*.js.gz")), "compressed variants"


@pytest.mark.django_db
def test_asset_responses_are_cached_compressed_and_query_free(
    collected: Path, django_assert_num_queries
) -> None:
    client = Client()
    html = client.get("/app1/").content.decode()
    script = re.search(r'src="(/static/[^"]+\.js)"', html).group(1)
    with django_assert_num_queries(0):
        response = client.get(script, headers={"Accept-Encoding": "gzip"})
        legacy = client.get("/staff/favicon.ico")  # per-notebook path, login-only notebook
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert response["Content-Encoding"] == "gzip"
    assert legacy.status_code == 200


async def _get(app, path: str, accept_encoding: bytes = b"br") -> tuple[int, dict, bytes]:
    """One GET through an ASGI app; (status, headers, body)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"accept-encoding", accept_encoding)],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


async def _django_stand_in(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


async def test_collected_files_are_answered_before_django(collected: Path, settings) -> None:
    settings.DEBUG = False
    app = serve_collected_static(_django_stand_in)
    asset = next(collected.glob(f"{PREFIX}/assets/*.js.br")).name.removesuffix(".br")
    status, headers, body = await _get(app, f"/static/{PREFIX}/assets/{asset}")
    assert status == 200
    assert headers["cache-control"] == "max-age=315360000, public, immutable"
    assert headers["content-encoding"] == "br"
    assert body == (collected / PREFIX / "assets" / f"{asset}.br").read_bytes()
    assert (await _get(app, "/app1/"))[0] == 418  # everything else: Django
    assert (await _get(app, f"/static/{PREFIX}/assets/no-such.js"))[0] == 418


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
