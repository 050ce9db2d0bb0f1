"""Query parameter forms against a live daphne: the page and the websocket.

tests/projects/default/urls.py routes tests/notebooks/items.py, which prints what the kernel
sees (``mo.query_params()`` and ``app_meta().request``), behind
devtools/params_forms.py's ItemFilter form and ItemModel Pydantic model.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest
import websockets
from openapi_spec_validator import validate

from devtools.live import KernelSocket, LiveServer, cookie_header
from notebook_host.params.gate import CLOSE_INVALID, COOKIE

pytestmark = pytest.mark.asyncio

CANONICAL = "limit=5&offset=0&order_by=created_at&tags=a&tags=b"


def sid() -> str:
    return "s_" + uuid.uuid4().hex[:10]


def items_report(html: str) -> dict[str, Any]:
    import html as html_lib

    match = re.search(r"<pre class='items-report'>(.*?)</pre>", html, re.S)
    assert match, html[:300]
    return json.loads(html_lib.unescape(match.group(1)))


async def kernel_sees(live: LiveServer, page: str, query: str, cookies: str = "") -> dict:
    async with KernelSocket.open(live, page, sid(), query=query, cookies=cookies) as kernel:
        return items_report(await kernel.output_containing("items-report"))


async def close_code(live: LiveServer, page: str, query: str) -> int | None:
    """The close code of a socket the server ends before any kernel message."""
    try:
        async with KernelSocket.open(live, page, sid(), query=query) as kernel:
            await kernel.next(timeout=10)
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    return None


class TestPage:
    @pytest.mark.parametrize("page", ["/items/", "/pyitems/"])
    async def test_invalid_answers_400_with_each_fields_errors(self, anon, page) -> None:
        response = await anon.get(page + "?limit=0&order_by=name&tags=z")
        assert response.status_code == 400
        assert "Invalid query parameters" in response.text
        for name in ("limit", "order_by", "tags"):
            assert f"<dt>{name}</dt>" in response.text
        as_json = await anon.get(
            page + "?limit=0&order_by=name&tags=z", headers={"Accept": "application/json"}
        )
        assert as_json.status_code == 400
        assert sorted(as_json.json()["errors"]) == ["limit", "order_by", "tags"]

    @pytest.mark.parametrize("page", ["/items/", "/pyitems/"])
    async def test_incomplete_redirects_once_to_canonical(self, anon, page) -> None:
        response = await anon.get(page + "?tags=a&limit=5&tags=b")
        assert response.status_code == 302
        assert response.headers["location"] == f"{page}?{CANONICAL}"
        served = await anon.get(response.headers["location"])
        assert served.status_code == 200
        assert "items.py" in served.text

    async def test_canonical_page_sets_the_socket_cookie(self, anon) -> None:
        served = await anon.get(f"/items/?{CANONICAL}")
        assert served.status_code == 200
        # The page may set other cookies too (notebook_host.runtime.owners).
        cookie = next(c for c in served.headers.get_list("set-cookie") if c.startswith(COOKIE))
        assert "Path=/items/ws" in cookie
        assert "HttpOnly" in cookie

    async def test_no_query_redirects_to_the_defaults(self, anon) -> None:
        response = await anon.get("/items/", follow_redirects=True)
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [302]
        assert str(response.url).endswith("/items/?limit=100&offset=0&order_by=created_at")

    async def test_marimo_params_pass_through_without_a_loop(self, anon) -> None:
        response = await anon.get(
            "/items/?kiosk=true&view-as=slides&show-chrome=false", follow_redirects=True
        )
        assert response.status_code == 200
        assert len(response.history) == 1
        assert str(response.url).endswith(
            "?limit=100&offset=0&order_by=created_at&kiosk=true&view-as=slides&show-chrome=false"
        )

    async def test_unknown_params_by_flag(self, anon) -> None:
        rejected = await anon.get("/items/?limt=5", headers={"Accept": "application/json"})
        assert rejected.status_code == 400
        assert rejected.json()["errors"] == {"limt": ["Unknown parameter."]}
        passed = await anon.get("/loose/?utm=x")
        assert passed.headers["location"] == "/loose/?limit=100&offset=0&order_by=created_at&utm=x"
        dropped = await anon.get("/dropping/?utm=x")
        assert dropped.headers["location"] == "/dropping/?limit=100&offset=0&order_by=created_at"

    async def test_access_is_decided_before_parameters(self, anon, alice) -> None:
        response = await anon.get("/login-items/?limit=0")
        assert response.status_code == 302
        assert "/accounts/login/" in response.headers["location"]
        assert (await alice.get("/login-items/?limit=0")).status_code == 400

    async def test_directory_params_by_glob(self, anon) -> None:
        nested = await anon.get("/paramapps/nested/nested_app/")
        assert nested.headers["location"] == "/paramapps/nested/nested_app/?region=north"
        assert (await anon.get("/paramapps/nested/nested_app/?region=east")).status_code == 400
        assert (await anon.get("/paramapps/test_app/?limit=500")).status_code == 400
        # A notebook no glob matches takes any query.
        assert (await anon.get("/paramapps/secret_app/?anything=1")).status_code == 200

    async def test_sub_routes_are_not_checked(self, anon) -> None:
        assert (await anon.get("/items/health?limit=0")).status_code == 200


class TestSocket:
    async def test_hand_made_invalid_url_is_refused(self, live: LiveServer) -> None:
        assert await close_code(live, "/items/", "limit=1000") == CLOSE_INVALID
        assert await close_code(live, "/items/", "tags=z") == CLOSE_INVALID
        assert await close_code(live, "/items/", "limit=5&sneaky=1") == CLOSE_INVALID
        assert await close_code(live, "/pyitems/", "offset=-1") == CLOSE_INVALID
        assert "invalid parameters" in live.log()

    async def test_kernel_sees_cleaned_values_with_defaults(self, live: LiveServer) -> None:
        report = await kernel_sees(live, "/items/", "limit=7&theme=dark")
        assert report["mo_query_params"] == {
            "theme": ["dark"],
            "limit": ["7"],
            "offset": ["0"],
            "order_by": ["created_at"],
        }
        assert report["request_query_params"] == {
            "theme": ["dark"],
            "limit": ["7"],
            "offset": ["0"],
            "order_by": ["created_at"],
        }
        assert report["query"] == "limit=7&offset=0&order_by=created_at&theme=dark"

    async def test_repeated_values_come_back_through_the_page_cookie(
        self, live: LiveServer, anon: httpx.AsyncClient
    ) -> None:
        # What marimo's frontend sends: the page's last value of each name.
        socket_query = "limit=5&offset=0&order_by=created_at&tags=b"
        without = await kernel_sees(live, "/items/", socket_query)
        assert without["mo_query_params"]["tags"] == ["b"]
        assert (await anon.get(f"/items/?{CANONICAL}")).status_code == 200
        with_cookie = await kernel_sees(live, "/items/", socket_query, cookie_header(anon))
        assert with_cookie["mo_query_params"]["tags"] == ["a", "b"]
        assert with_cookie["request_query_params"]["tags"] == ["a", "b"]
        assert with_cookie["query"] == CANONICAL
        # A socket whose own values differ from the page's keeps its own.
        other = await kernel_sees(live, "/items/", "tags=c", cookie_header(anon))
        assert other["mo_query_params"]["tags"] == ["c"]

    async def test_forged_cookie_is_ignored(self, live: LiveServer) -> None:
        report = await kernel_sees(
            live, "/items/", "tags=b", cookies=f"{COOKIE}=not-a-signed-value"
        )
        assert report["mo_query_params"]["tags"] == ["b"]


class TestOpenAPI:
    async def test_served_document_is_valid_and_filtered(self, anon, alice) -> None:
        response = await anon.get("/registered/openapi.json")
        assert response.status_code == 200
        document = response.json()
        validate(document)
        paths = document["paths"]
        assert "/items/" in paths
        assert "/login-items/" not in paths  # anonymous may not open it
        assert "/validated/secret_app/" not in paths  # hidden by validate
        assert "/validated/test_app/" in paths
        signed_in = (await alice.get("/registered/openapi.json")).json()
        validate(signed_in)
        assert "/login-items/" in signed_in["paths"]
        assert "/staff/" not in signed_in["paths"]
