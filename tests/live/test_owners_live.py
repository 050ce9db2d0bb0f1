"""Session ownership against a live daphne: a captured session id is useless.

alice opens a kernel session; bob, an anonymous visitor and a cookie-less
script replay its id on the API, on a second websocket and on a download,
and get 404 (or a refused socket) while alice keeps working and resumes.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
import websockets

from devtools.live import KernelSocket, LiveServer, cookie_header, login
from devtools.users import PASSWORD
from devtools.visitor import open_tab
from notebook_host import closecodes

pytestmark = pytest.mark.asyncio

PAGE = "/faults-login/"


async def replay(
    client: httpx.AsyncClient, live: LiveServer, session_id: str, token: str, page: str = PAGE
) -> httpx.Response:
    """A hand-made widget change carrying someone else's session id."""
    return await client.post(
        page + "api/kernel/set_ui_element_value",
        json={"objectIds": [], "values": []},
        headers={
            "Origin": live.url,
            "Marimo-Session-Id": session_id,
            "Marimo-Server-Token": token,
        },
    )


async def socket_refused(live: LiveServer, page: str, session_id: str, cookies: str) -> bool:
    try:
        async with KernelSocket.open(live, page, session_id, cookies=cookies) as kernel:
            await kernel.next(timeout=10)
    except (websockets.InvalidStatus, websockets.ConnectionClosed):
        return True
    return False


@pytest.mark.parametrize("page", ["/faults/", PAGE])
async def test_captured_id_is_refused_to_everyone_but_its_owner(
    page: str,
    live: LiveServer,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    anon: httpx.AsyncClient,
) -> None:
    await anon.get("/faults/")  # anonymous, with its own owner cookie
    async with (
        open_tab(live, alice, page, ready="knob is 0") as tab,
        httpx.AsyncClient(base_url=live.url) as cookieless,
    ):
        # On a login notebook the access rule answers strangers first (401).
        stranger_status = 404 if page == "/faults/" else 401
        for intruder, status in (
            (bob, 404),
            (anon, stranger_status),
            (cookieless, stranger_status),
        ):
            response = await replay(intruder, live, tab.session_id, tab.token, page)
            assert response.status_code == status, response.text
        response = await replay(bob, live, tab.session_id, tab.token, page)
        assert response.json() == {"detail": "Unknown or expired session"}
        # the same 404 as an id that never existed: nothing to probe
        unknown = await replay(bob, live, "s_never", tab.token, page)
        assert (unknown.status_code, unknown.json()) == (404, response.json())
        # a second websocket for alice's id, from bob or anonymous, is refused ...
        assert await socket_refused(live, page, tab.session_id, cookie_header(bob))
        assert await socket_refused(live, page, tab.session_id, cookie_header(anon))
        # ... and alice's kernel is untouched
        assert await tab.turn("knob", 5, "knob is 5") < 10
    log = live.log()
    assert f"session {tab.session_id} is not this browser's" in log
    assert f"session {tab.session_id} belongs to someone else" in log


async def test_owner_reconnects_and_resumes(live: LiveServer, alice: httpx.AsyncClient) -> None:
    async with open_tab(live, alice, PAGE, ready="knob is 0") as tab:
        await tab.turn("knob", 7, "knob is 7")
        session_id, token = tab.session_id, tab.token
    # the tab's socket dropped (network blip); the same id comes back
    async with KernelSocket.open(live, PAGE, session_id, cookies=cookie_header(alice)) as kernel:
        # marimo resumes the same kernel: "reconnected", not a new kernel-ready
        await kernel.wait_for(lambda k: any(m.get("op") == "reconnected" for m in k.messages))
        assert not any(m.get("op") == "kernel-ready" for m in kernel.messages)
        response = await alice.post(
            PAGE + "api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers={
                "Origin": live.url,
                "Marimo-Session-Id": session_id,
                "Marimo-Server-Token": token,
            },
        )
        assert response.status_code == 200, response.text


async def test_anonymous_visitors_are_told_apart(live: LiveServer) -> None:
    async with (
        httpx.AsyncClient(base_url=live.url) as first,
        httpx.AsyncClient(base_url=live.url) as second,
        open_tab(live, first, "/faults/", ready="knob is 0") as tab,
    ):
        await second.get("/faults/")
        assert first.cookies["notebook_host_owner"] != second.cookies["notebook_host_owner"]
        response = await second.post(
            "/faults/api/kernel/set_ui_element_value",
            json={"objectIds": [], "values": []},
            headers={
                "Origin": live.url,
                "Marimo-Session-Id": tab.session_id,
                "Marimo-Server-Token": tab.token,
            },
        )
        assert response.status_code == 404
        assert await tab.turn("knob", 3, "knob is 3") < 10


async def test_signing_out_and_in_as_someone_else_loses_the_session(live: LiveServer) -> None:
    """One browser, alice then bob: bob cannot drive alice's lingering kernel."""
    async with httpx.AsyncClient(base_url=live.url) as browser:
        await login(browser, "alice", PASSWORD)
        async with open_tab(live, browser, PAGE, ready="knob is 0") as tab:
            session_id, token = tab.session_id, tab.token
        logout = await browser.post(
            "/accounts/logout/",
            data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": live.url + "/"},
        )
        assert logout.status_code in (200, 302)
        await login(browser, "bob", PASSWORD)
        assert (await replay(browser, live, session_id, token)).status_code == 404


async def sign_out(browser: httpx.AsyncClient, live: LiveServer) -> None:
    response = await browser.post(
        "/accounts/logout/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        headers={"Referer": live.url + "/"},
    )
    assert response.status_code in (200, 302)


async def test_signing_out_ends_the_kernel_for_a_copied_cookie(live: LiveServer) -> None:
    """A copy of the old session cookie drives nothing once its owner signed out."""
    async with (
        httpx.AsyncClient(base_url=live.url) as browser,
        httpx.AsyncClient(base_url=live.url) as copy,
    ):
        await login(browser, "alice", PASSWORD)
        async with open_tab(live, browser, "/faults/", ready="knob is 0") as tab:
            copy.cookies.update(browser.cookies)
            knob = tab.object_id("knob")
            body = {"objectIds": [knob], "values": [4]}
            headers = {
                "Origin": live.url,
                "Marimo-Session-Id": tab.session_id,
                "Marimo-Server-Token": tab.token,
            }
            url = "/faults/api/kernel/set_ui_element_value"
            # positive control: before sign-out the copy is as good as the original
            assert (await copy.post(url, json=body, headers=headers)).status_code == 200
            await sign_out(browser, live)
            # the open tab is told, with the sign-out's own code ...
            assert await tab.kernel.closed_with() == closecodes.SIGNED_OUT
            # ... and the copied cookie drives the kernel no more, fast path or view
            refused = await copy.post(url, json=body, headers=headers)
            assert refused.status_code == 404, refused.text


async def test_download_only_for_its_owner(
    live: LiveServer, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    async with open_tab(live, alice, PAGE, ready="big download") as tab:
        html = await tab.kernel.output_containing("big download")
        match = re.search(r"\./(@file/[^&\"']+)", html)
        assert match, html[:500]
        url = PAGE + match.group(1)
        own = await alice.get(url)
        assert own.status_code == 200
        assert len(own.content) == 5_000_000
        # framable by the site's own pages (mo.iframe, mo.pdf), not by others,
        # as every answer of a notebook route is (docs/embedding.md)
        assert own.headers["x-frame-options"] == "SAMEORIGIN"
        assert own.headers["content-security-policy"] == "frame-ancestors 'self'"
        assert (await bob.get(url)).status_code == 404
        async with httpx.AsyncClient(base_url=live.url) as stranger:
            assert (await stranger.get(url)).status_code == 401  # a login notebook
        # a name no live kernel thread made is refused, even to alice
        fake = re.sub(r"/@file/(\d+)-\d+-", r"/@file/\1-1-", url)
        assert fake != url
        assert (await alice.get(fake)).status_code == 404


async def test_marimo_unknown_session_is_404_not_500(live: LiveServer, anon) -> None:
    """An id whose kernel marimo already dropped answers 404 (marimo says 500)."""
    async with open_tab(live, anon, "/ttl0/", ready="says hi") as tab:
        session_id, token = tab.session_id, tab.token
    await asyncio.sleep(1.0)
    response = await anon.post(
        "/ttl0/api/kernel/set_ui_element_value",
        json={"objectIds": [], "values": []},
        headers={"Origin": live.url, "Marimo-Session-Id": session_id, "Marimo-Server-Token": token},
    )
    assert response.status_code == 404
