"""marimo's frontend as deployed: collectstatic, then served compressed before Django.

A full collectstatic (compressing ~700 files) takes tens of seconds, so these
run in the live tier with the daphne tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import AsyncClient, Client, override_settings

from notebook_host.static import serve_collected_static

PREFIX = "marimo/0.25.2"


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
    page = await client.get("/app1/")
    html = page.content.decode()
    assert int(page["Content-Length"]) == len(page.content)
    # The disconnected-state backgrounds are not preloaded (frontend.trim_page).
    assert "gradient-" not in html and "noise-" not in html
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
