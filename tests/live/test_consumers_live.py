"""The websocket consumer against a live daphne, with real websockets."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import websockets

from devtools.live import KernelSocket, LiveServer, cookie_header, meta_report, server_token

pytestmark = pytest.mark.asyncio


def sid() -> str:
    return "s_" + uuid.uuid4().hex[:10]


async def refused(live: LiveServer, page: str, **kwargs) -> bool:
    """True when the websocket handshake is rejected or closed before use."""
    try:
        async with KernelSocket.open(live, page, sid(), **kwargs) as kernel:
            await kernel.next(timeout=10)
    except (websockets.InvalidStatus, websockets.ConnectionClosed):
        return True
    return False


async def test_kernel_ready_for_allowed_user(live: LiveServer, alice: httpx.AsyncClient) -> None:
    async with KernelSocket.open(live, "/meta/", sid(), cookies=cookie_header(alice)) as kernel:
        ready = await kernel.kernel_ready()
        assert len(ready["cell_ids"]) == 3
        await kernel.output_containing("meta-report")


async def test_multiple_apps_run_their_own_notebook(live: LiveServer) -> None:
    for page, text in (("/app1/", "app1 says hi"), ("/app2/", "app2 says hi")):
        async with KernelSocket.open(live, page, sid()) as kernel:
            await kernel.output_containing(text)


async def test_include_code_sends_code(live: LiveServer) -> None:
    async with KernelSocket.open(live, "/code/", sid()) as kernel:
        codes = (await kernel.kernel_ready())["codes"]
    assert any("Hello from app1" in code for code in codes)
    async with KernelSocket.open(live, "/app1/", sid()) as kernel:
        codes = (await kernel.kernel_ready())["codes"]
    assert not any(codes)


class TestRefusals:
    async def test_anonymous_on_login_notebook(self, live: LiveServer) -> None:
        assert await refused(live, "/meta/")

    async def test_signed_in_but_denied(self, live: LiveServer, alice) -> None:
        assert await refused(live, "/staff/", cookies=cookie_header(alice))
        assert await refused(live, "/hide/", cookies=cookie_header(alice))

    async def test_allowed_user_is_not_refused(self, live: LiveServer, bob) -> None:
        assert not await refused(live, "/staff/", cookies=cookie_header(bob))

    async def test_foreign_origin(self, live: LiveServer, alice) -> None:
        kwargs = {"cookies": cookie_header(alice), "origin": "http://evil.example"}
        assert await refused(live, "/meta/", **kwargs)
        assert await refused(live, "/app1/", origin="http://evil.example")

    async def test_unknown_path_and_broken_notebook(self, live: LiveServer) -> None:
        assert await refused(live, "/nowhere/")
        assert await refused(live, "/broken/")
        assert await refused(live, "/missing/")


class TestAppMeta:
    async def test_request_on_socket_and_api_paths(self, live: LiveServer, alice) -> None:
        alice.cookies.set("theme", "dark")
        page = await alice.get("/meta/?color=red&tag=a")
        token = server_token(page.text)
        session = sid()
        async with KernelSocket.open(
            live, "/meta/", session, cookies=cookie_header(alice), query="color=red&tag=a"
        ) as kernel:
            first = meta_report(await kernel.output_containing("meta-report"))
            assert first["path"] == "/meta/"
            assert first["query_params"] == {"color": ["red"], "tag": ["a"]}
            assert first["user"] == {
                "id": first["user"]["id"],
                "username": "alice",
                "email": "alice@example.com",
                "display_name": "Alice Tester",
                "is_authenticated": True,
                "is_staff": False,
                "is_superuser": False,
                "groups": ["analysts"],
            }
            assert isinstance(first["user"]["id"], int)
            assert first["meta"] == {"tenant": "acme", "source": "scope"}
            assert first["has_cookie_header"] is True
            # Django's session and CSRF cookies are hidden from notebook code.
            assert first["cookies"] == ["theme"]

            knob = kernel.object_id("knob")
            kernel.outputs.clear()
            response = await alice.post(
                "/meta/api/kernel/set_ui_element_value",
                json={"objectIds": [knob], "values": [7]},
                headers={
                    "Origin": live.url,
                    "Marimo-Session-Id": session,
                    "Marimo-Server-Token": token,
                },
            )
            assert response.status_code == 200, response.text
            second = meta_report(await kernel.output_containing('"knob": 7'))
        assert second["user"] == first["user"]
        assert second["path"] == first["path"] == "/meta/"
        assert second["query_params"] == first["query_params"]
        # The call took the kernel API fast path: it reuses the socket's meta.
        assert second["meta"] == {"tenant": "acme", "source": "scope"}
        assert second["cookies"] == ["theme"]

    async def test_anonymous_user_dict(self, live: LiveServer) -> None:
        async with KernelSocket.open(live, "/public-meta/", sid()) as kernel:
            report = meta_report(await kernel.output_containing("meta-report"))
        assert report["user"] == {
            "id": None,
            "username": "",
            "email": "",
            "display_name": "",
            "is_authenticated": False,
            "is_staff": False,
            "is_superuser": False,
            "groups": [],
        }
        assert report["path"] == "/public-meta/"

    async def test_path_params_from_the_url_pattern(self, live: LiveServer, carol) -> None:
        async with KernelSocket.open(live, "/items/42/", sid(), cookies=cookie_header(carol)) as k:
            report = meta_report(await k.output_containing("meta-report"))
        assert report["path_params"] == {"item": 42}
        assert report["path"] == "/items/42/"
        assert report["user"]["groups"] == ["analysts", "sales"]
        assert report["user"]["display_name"] == "Carol Tester"

    async def test_staff_and_superuser_flags(self, live: LiveServer, root) -> None:
        async with KernelSocket.open(live, "/meta/", sid(), cookies=cookie_header(root)) as k:
            report = meta_report(await k.output_containing("meta-report"))
        assert report["user"]["is_staff"] is True
        assert report["user"]["is_superuser"] is True
        assert report["user"]["username"] == "root"


class TestOptions:
    async def test_redirect_console_to_browser(self, live: LiveServer) -> None:
        async with KernelSocket.open(live, "/console/", sid()) as kernel:
            await kernel.wait_for(lambda k: any("console-marker-7d1f" in c for c in k.console))
        async with KernelSocket.open(live, "/noconsole/", sid()) as kernel:
            await kernel.kernel_ready()
            with pytest.raises(TimeoutError):
                await kernel.wait_for(
                    lambda k: any("console-marker-7d1f" in c for c in k.console), timeout=3
                )

    async def test_session_ttl(self, live: LiveServer, anon) -> None:
        """Within the TTL a closed tab's kernel lives on; with TTL 0 it is gone."""
        for page, lives_on in (("/ttl0/", False), ("/app1/", True)):
            token = server_token((await anon.get(page)).text)
            session = sid()
            async with KernelSocket.open(
                live, page, session, cookies=cookie_header(anon)
            ) as kernel:
                await kernel.output_containing("says hi")
            await asyncio.sleep(1.0)
            response = await anon.post(
                page + "api/kernel/set_ui_element_value",
                json={"objectIds": [], "values": []},
                headers={
                    "Origin": live.url,
                    "Marimo-Session-Id": session,
                    "Marimo-Server-Token": token,
                },
            )
            # A session marimo no longer has is a 404 (marimo itself would 500);
            # a live one reaches marimo (which refuses writes with no tab open).
            gone = response.status_code == 404
            assert gone is not lives_on, (page, response.status_code, response.text)
            assert response.status_code < 500
