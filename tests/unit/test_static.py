"""marimo's frontend through Django staticfiles: finder, asset URL, headers."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings

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
