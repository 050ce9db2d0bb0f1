"""marimo's frontend through Django staticfiles: finder, asset URL, headers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings

from notebook_host.cache_headers import add_headers
from notebook_host.finders import MarimoAssetsFinder, static_prefix
from notebook_host.static import default_asset_url

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


@pytest.fixture
def collected(tmp_path: Path, settings) -> Path:
    """collectstatic into a temporary STATIC_ROOT, served from there (production)."""
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    settings.SERVESTATIC_USE_FINDERS = False
    return tmp_path


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
