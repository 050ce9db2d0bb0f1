"""Embedded notebook pages on a live daphne: framing headers and the embed marker.

The test project runs Django's XFrameOptionsMiddleware with the default
X_FRAME_OPTIONS = "DENY"; notebook routes answer SAMEORIGIN all the same.
"""

from __future__ import annotations

import json
import re
import uuid

import httpx

from devtools.live import KernelSocket, LiveServer, first_script_asset, meta_report

SELF_ONLY = "frame-ancestors 'self'"
CANONICAL_ITEMS = "/items/?limit=100&offset=0&order_by=created_at"


def assert_frameable(response: httpx.Response) -> None:
    assert response.headers["x-frame-options"] == "SAMEORIGIN", response.url
    assert response.headers["content-security-policy"] == SELF_ONLY, response.url


async def test_every_notebook_route_may_be_framed_by_the_site(anon: httpx.AsyncClient) -> None:
    page = await anon.get("/app1/")
    assert page.status_code == 200
    assert_frameable(page)
    asset = await anon.get(f"/app1/assets/{first_script_asset(page.text)}")
    assert asset.status_code == 200
    assert_frameable(asset)
    for path, status in [
        ("/app1/health", 200),  # marimo's own sub-route
        ("/app1", 302),  # the slash redirect
        ("/registered/no-such-slug/", 404),
        ("/apps/", 200),  # a folder listing
    ]:
        response = await anon.get(path)
        if status is not None:
            assert response.status_code == status, path
        assert_frameable(response)


async def test_other_pages_keep_the_projects_policy(anon: httpx.AsyncClient) -> None:
    for path in ("/plain/", "/accounts/login/", "/embed/host/"):
        response = await anon.get(path)
        assert response.status_code == 200
        assert response.headers["x-frame-options"] == "DENY", path
        assert "content-security-policy" not in response.headers, path


async def test_marker_is_not_a_query_parameter_of_the_notebook(anon: httpx.AsyncClient) -> None:
    # items/ refuses unknown parameters, yet the marker passes and is no redirect.
    framed = await anon.get(CANONICAL_ITEMS + "&nh-embed=auto")
    assert framed.status_code == 200
    assert 'id="notebook-host-embed-style"' in framed.text
    config = re.search(r'id="notebook-host-embed"[^>]*>(.*?)</script>', framed.text, re.S)
    assert config is not None
    assert json.loads(config.group(1)) == {
        "mode": "auto",
        "origins": [],
        "message": "notebook_host:height",
        "app": "App",
        # the host page answers each height; a frame left unanswered says so
        "sized": "notebook_host:sized",
        "ack_ms": 4000,
        "unsized": "This frame cannot follow the notebook's height: the host page's "
        "sizing script did not run. Scroll inside the frame.",
    }
    assert int(framed.headers["content-length"]) == len(framed.content)
    assert_frameable(framed)

    plain = await anon.get(CANONICAL_ITEMS)
    assert plain.status_code == 200
    assert "notebook-host-embed" not in plain.text

    fixed = await anon.get(CANONICAL_ITEMS + "&nh-embed=fixed")
    assert '"mode": "fixed"' in fixed.text
    assert "overflow-y: hidden" not in fixed.text  # a fixed frame scrolls inside

    unknown = await anon.get(CANONICAL_ITEMS + "&nh-embed=bogus")
    assert unknown.status_code == 200  # dropped, and not embedded
    assert "notebook-host-embed" not in unknown.text


async def test_redirects_of_a_framed_page_stay_embedded(anon: httpx.AsyncClient) -> None:
    canonical = await anon.get("/items/?nh-embed=auto&limit=5")
    assert canonical.status_code == 302
    assert canonical.headers["location"] == (
        "/items/?limit=5&offset=0&order_by=created_at&nh-embed=auto"
    )
    slash = await anon.get("/app1?nh-embed=fixed")
    assert slash.headers["location"] == "/app1/?nh-embed=fixed"


async def test_marker_never_reaches_the_kernel(live: LiveServer) -> None:
    async with KernelSocket.open(
        live, "/public-meta/", f"s_{uuid.uuid4().hex[:8]}", query="x=1&nh-embed=auto"
    ) as kernel:
        report = meta_report(await kernel.output_containing("meta-report"))
    assert report["query_params"] == {"x": ["1"]}
    assert report["mo_query_params"] == {"x": ["1"]}
    assert report["query"] == "x=1"


async def test_marker_passes_a_socket_with_params(live: LiveServer) -> None:
    query = CANONICAL_ITEMS.split("?", 1)[1] + "&nh-embed=auto"
    async with KernelSocket.open(live, "/items/", f"s_{uuid.uuid4().hex[:8]}", query=query) as k:
        ready = await k.kernel_ready()
    assert ready["cell_ids"]
