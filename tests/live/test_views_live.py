"""The notebook view over real HTTP against a live daphne.

Ports the HTTP-level cases of marimo's TestASGIAppBuilder (tests/_server/
test_asgi.py) to Django URL patterns, plus access, CSRF and error pages.
"""

from __future__ import annotations

import httpx
import pytest

from devtools.live import (
    KernelSocket,
    LiveServer,
    cookie_header,
    first_script_asset,
    server_token,
)

pytestmark = pytest.mark.asyncio


async def test_app_base_serves_marimo_page(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/app1/")
    assert response.status_code == 200
    assert "app1.py" in response.text
    assert "<marimo-filename" in response.text or "marimo" in response.text.lower()


async def test_redirect_to_slash_keeps_query(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/app1?x=1&x=2")
    assert response.status_code in (301, 302)
    assert response.headers["location"] == "/app1/?x=1&x=2"
    followed = await anon.get("/app1", follow_redirects=True)
    assert followed.status_code == 200
    assert "app1.py" in followed.text


async def test_multiple_apps_and_unknown_paths(anon: httpx.AsyncClient) -> None:
    assert "app1.py" in (await anon.get("/app1/")).text
    assert "app2.py" in (await anon.get("/app2/")).text
    assert (await anon.get("/app3/")).status_code == 404
    assert (await anon.get("/app1/not-a-marimo-route")).status_code == 404


@pytest.mark.parametrize("prefix", ["/first", "/last"])
async def test_root_notebook_never_shadows(anon: httpx.AsyncClient, prefix: str) -> None:
    root = await anon.get(f"{prefix}/")
    assert root.status_code == 200
    assert "app2.py" in root.text
    app1 = await anon.get(f"{prefix}/app1/")
    assert app1.status_code == 200
    assert "app1.py" in app1.text
    other = await anon.get(f"{prefix}/other/")
    assert other.text == "plain django view"
    assert (await anon.get(f"{prefix}/health")).status_code == 200


async def test_per_app_health(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/health")).status_code == 404
    response = await anon.get("/app1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


async def test_html_head_injected(anon: httpx.AsyncClient) -> None:
    assert '<meta name="nh-test" content="injected">' in (await anon.get("/head/")).text
    assert "nh-test" not in (await anon.get("/app1/")).text


async def test_show_tracebacks_option_reaches_page_config(anon: httpx.AsyncClient) -> None:
    on = (await anon.get("/tracebacks/")).text
    off = (await anon.get("/notracebacks/")).text
    assert '"show_tracebacks": true' in on.replace("'", '"') or "show_tracebacks&quot;: true" in on
    assert '"show_tracebacks": true' not in off.replace("'", '"')


async def test_django_middleware_wraps_notebook_routes(anon: httpx.AsyncClient) -> None:
    assert (await anon.get("/app1/")).headers["x-test-middleware"] == "applied"
    assert (await anon.get("/app1/health")).headers["x-test-middleware"] == "applied"


async def test_frontend_assets_are_public_and_sessionless(anon: httpx.AsyncClient) -> None:
    page = await anon.get("/staff/", follow_redirects=False)
    assert page.status_code == 302  # the page itself needs a login
    favicon = await anon.get("/staff/favicon.ico")
    assert favicon.status_code == 200
    assert "set-cookie" not in favicon.headers
    html = (await anon.get("/app1/")).text
    asset = first_script_asset(html)
    response = await anon.get(f"/staff/assets/{asset}")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert (await anon.get("/staff/assets/../../manage.py")).status_code == 404


async def test_reverse_gives_page_url() -> None:
    from django.urls import reverse

    assert reverse("app1") == "/app1/"
    assert reverse("item", kwargs={"item": 7}) == "/items/7/"
    assert reverse("root-first") == "/first/"


class TestAccess:
    async def test_anonymous_page_redirects_to_login(self, anon: httpx.AsyncClient) -> None:
        response = await anon.get("/meta/?a=1")
        assert response.status_code == 302
        assert response.headers["location"] == "/accounts/login/?next=/meta/%3Fa%3D1"

    async def test_default_access_is_login(self, anon, alice) -> None:
        assert (await anon.get("/default/")).status_code == 302
        assert (await alice.get("/default/")).status_code == 200

    async def test_anonymous_api_is_401(self, anon: httpx.AsyncClient, live: LiveServer) -> None:
        response = await anon.post(
            "/meta/api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers={"Origin": live.url},
        )
        assert response.status_code == 401
        assert (await anon.get("/meta/health")).status_code == 401

    @pytest.mark.parametrize(
        ("page", "allowed"),
        [
            ("/staff/", {"bob", "root"}),
            ("/super/", {"root"}),
            ("/perm/", {"root", "carol"}),
            ("/alice/", {"alice"}),
            ("/carol/", {"carol"}),
            ("/refuse/", set()),
            ("/hide/", set()),
            ("/meta/", {"alice", "bob", "root", "carol"}),
        ],
    )
    async def test_rules_for_signed_in_users(
        self, page: str, allowed: set[str], alice, bob, root, carol
    ) -> None:
        clients = {"alice": alice, "bob": bob, "root": root, "carol": carol}
        for name, client in clients.items():
            response = await client.get(page)
            expected = 200 if name in allowed else 404
            assert response.status_code == expected, (name, page, response.status_code)
            health = await client.get(page + "health")
            assert health.status_code == expected, (name, page + "health")

    async def test_denied_is_404_on_api_too(self, alice, live: LiveServer) -> None:
        response = await alice.post(
            "/staff/api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers={"Origin": live.url},
        )
        assert response.status_code == 404

    async def test_hidden_notebook_is_404_even_for_anonymous(self, anon) -> None:
        assert (await anon.get("/hide/")).status_code == 404


class TestCsrfEquivalent:
    async def _post(self, client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
        page = await client.get("/noskew/")
        headers = {"Marimo-Server-Token": server_token(page.text), **headers}
        return await client.post(
            "/noskew/api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers=headers,
        )

    async def test_foreign_origin_is_refused(self, anon) -> None:
        response = await self._post(anon, {"Origin": "http://evil.example"})
        assert response.status_code == 403

    async def test_missing_origin_and_referer_is_refused(self, anon) -> None:
        assert (await self._post(anon, {})).status_code == 403

    async def test_foreign_referer_is_refused(self, anon) -> None:
        response = await self._post(anon, {"Referer": "http://evil.example/page"})
        assert response.status_code == 403

    async def test_same_origin_passes_the_check(self, anon, live: LiveServer) -> None:
        # Past the origin check marimo answers: no session with that id.
        response = await self._post(anon, {"Origin": live.url})
        assert response.status_code != 403
        referer = await self._post(anon, {"Referer": live.url + "/noskew/"})
        assert referer.status_code != 403


class TestSkewProtection:
    async def test_post_without_server_token_refused_when_on(self, anon, live) -> None:
        await anon.get("/app1/")  # the owner cookie
        async with KernelSocket.open(live, "/app1/", "s_skew", cookies=cookie_header(anon)) as k:
            await k.kernel_ready()
            response = await anon.post(
                "/app1/api/kernel/set_ui_element_value",
                json={"objectIds": [], "values": []},
                headers={"Origin": live.url, "Marimo-Session-Id": "s_skew"},
            )
        assert response.status_code == 401
        assert "token" in response.text.lower()

    async def test_post_without_server_token_passes_when_off(self, anon, live) -> None:
        response = await anon.post(
            "/noskew/api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers={"Origin": live.url, "Marimo-Session-Id": "s_x"},
        )
        assert response.status_code != 401


class TestBadNotebooks:
    async def test_missing_file_is_404_with_message(self, anon) -> None:
        response = await anon.get("/missing/")
        assert response.status_code == 404
        assert "Notebook file not found: missing.py" in response.text

    async def test_unparsable_file_is_clear_500(self, anon) -> None:
        response = await anon.get("/broken/")
        assert response.status_code == 500
        assert "cannot be shown" in response.text
        assert "does not parse" in response.text  # DEBUG is on in the test project

    async def test_non_marimo_file_is_clear_500(self, anon) -> None:
        response = await anon.get("/notmarimo/")
        assert response.status_code == 500
        assert "not a marimo notebook" in response.text

    async def test_others_keep_working(self, anon) -> None:
        await anon.get("/broken/")
        await anon.get("/missing/")
        assert (await anon.get("/app1/")).status_code == 200
