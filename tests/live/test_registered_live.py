"""Admin-registered notebooks on a live daphne: no restart for any change.

Notebooks are added, changed, disabled and deleted through the admin over
HTTP (as root), and served at /registered/<slug>/ (tests/projects/default/urls.py).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid

import httpx
import pytest
import websockets

from devtools import admin_http
from devtools.live import ROOT, KernelSocket, LiveServer, cookie_header, server_token
from tests.support.notebook_files import titled

pytestmark = pytest.mark.asyncio


def sid() -> str:
    return "s_" + uuid.uuid4().hex[:10]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def closed_by_server(kernel: KernelSocket, timeout: float = 15) -> int:
    """Wait for the server to close the socket; returns the close code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await kernel.next(timeout=deadline - time.monotonic())
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else -1
        except TimeoutError:
            break
    raise AssertionError("the server did not close the socket")


async def refused(live: LiveServer, page: str, cookies: str = "") -> bool:
    try:
        async with KernelSocket.open(live, page, sid(), cookies=cookies) as kernel:
            await kernel.next(timeout=10)
    except (websockets.InvalidStatus, websockets.ConnectionClosed):
        return True
    return False


def sessions_command(live: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return live.manage("notebook_sessions", *args)


async def test_register_change_disable_delete_without_restart(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    slug = unique("life")
    page = f"/registered/{slug}/"
    assert (await anon.get(page)).status_code == 404

    pk = await admin_http.add(
        root, slug, "Life", admin_http.notebook_file("life.py", titled("Life", "first-output"))
    )
    response = await anon.get(page)
    assert response.status_code == 200
    assert "life.py" in response.text
    listing = await anon.get("/registered/", headers={"Accept": "application/json"})
    assert {"path": slug, "title": "Life", "url": page, "section": ""} in listing.json()[
        "notebooks"
    ]

    async with KernelSocket.open(live, page, sid()) as old:
        await old.output_containing("first-output")
        # A new upload reaches new sessions; the open one keeps its kernel.
        await admin_http.change(
            root, pk, slug, "Life", admin_http.notebook_file("life.py", titled("L", "second"))
        )
        async with KernelSocket.open(live, page, sid()) as new:
            await new.output_containing("second")
        assert not any("second" in out for out in old.outputs.values())
        assert old.ws.close_code is None

        # Disabling answers 404 at once and closes the open session.
        await admin_http.change(root, pk, slug, "Life", enabled=None)
        assert (await anon.get(page)).status_code == 404
        assert await closed_by_server(old) == 4001
    listing = await anon.get("/registered/", headers={"Accept": "application/json"})
    assert slug not in json.dumps(listing.json())

    await admin_http.change(root, pk, slug, "Life")  # enabled again
    async with KernelSocket.open(live, page, sid()) as kernel:
        await kernel.output_containing("second")
        await admin_http.delete(root, pk)
        assert (await anon.get(page)).status_code == 404
        assert await closed_by_server(kernel) == 4001
    assert await refused(live, page)


async def test_a_path_source_and_a_renamed_slug(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    slug = unique("path")
    pk = await admin_http.add(root, slug, "From a path", path="test_app.py")
    async with KernelSocket.open(live, f"/registered/{slug}/", sid()) as kernel:
        await kernel.output_containing("test-app-output")
    renamed = unique("renamed")
    await admin_http.change(root, pk, renamed, "From a path", path="test_app.py")
    assert (await anon.get(f"/registered/{slug}/")).status_code == 404
    assert (await anon.get(f"/registered/{renamed}/")).status_code == 200
    await admin_http.delete(root, pk)


async def test_a_symlink_swapped_out_of_the_allowed_folder_stops_serving(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    apps = live.env["NOTEBOOK_HOST_TEST_APPS"]
    from pathlib import Path

    link = Path(apps) / f"{unique('link')}.py"
    link.symlink_to(Path(apps) / "test_app.py")
    slug = unique("link")
    pk = await admin_http.add(root, slug, "Linked", path=link.name)
    assert (await anon.get(f"/registered/{slug}/")).status_code == 200
    link.unlink()
    link.symlink_to(Path(apps).parent / "outside.py")  # now outside ALLOWED_DIRS
    assert (await anon.get(f"/registered/{slug}/")).status_code == 404
    await admin_http.delete(root, pk)


class TestGroups:
    """Group rule on page, API and socket: members, staff and superusers only."""

    @pytest.fixture
    async def sales_only(self, root: httpx.AsyncClient) -> str:
        slug = unique("sales")
        [sales] = await admin_http.group_ids(root, ["sales"])
        pk = await admin_http.add(
            root, slug, "Sales", path="test_app.py", access="login", allowed_groups=[sales]
        )
        yield f"/registered/{slug}/"
        await admin_http.delete(root, pk)

    async def test_page_api_and_socket(
        self, live: LiveServer, sales_only: str, alice, bob, root, carol, anon
    ) -> None:
        page = sales_only
        # carol is in sales, bob is staff, root superuser; alice is only in analysts.
        for client in (carol, bob, root):
            assert (await client.get(page)).status_code == 200
        assert (await alice.get(page)).status_code == 404
        assert (await anon.get(page)).status_code == 302  # login first

        html = (await carol.get(page)).text
        api = page + "api/kernel/set_ui_element_value"
        body = {"objectIds": [], "values": []}
        session = sid()
        headers = {
            "Origin": live.url,
            "Marimo-Server-Token": server_token(html),
            "Marimo-Session-Id": session,
        }
        async with KernelSocket.open(live, page, session, cookies=cookie_header(carol)) as kernel:
            await kernel.kernel_ready()
            assert (await alice.post(api, json=body, headers=headers)).status_code == 404
            assert (await anon.post(api, json=body, headers=headers)).status_code == 401
            assert (await carol.post(api, json=body, headers=headers)).status_code == 200

        assert await refused(live, page, cookie_header(alice))
        assert await refused(live, page)
        async with KernelSocket.open(live, page, sid(), cookies=cookie_header(carol)) as kernel:
            await kernel.output_containing("test-app-output")

    async def test_listing_shows_only_what_the_user_may_open(
        self, sales_only: str, alice, carol, anon
    ) -> None:
        accept = {"Accept": "application/json"}
        carol_urls = [
            r["url"] for r in (await carol.get("/registered/", headers=accept)).json()["notebooks"]
        ]
        alice_urls = [
            r["url"] for r in (await alice.get("/registered/", headers=accept)).json()["notebooks"]
        ]
        assert sales_only in carol_urls
        assert sales_only not in alice_urls
        html = await carol.get("/registered/")
        assert "Sales" in html.text and sales_only in html.text

    async def test_group_change_applies_without_restart(
        self, live: LiveServer, root: httpx.AsyncClient, alice
    ) -> None:
        slug = unique("regroup")
        sales, analysts = await admin_http.group_ids(root, ["sales", "analysts"])
        pk = await admin_http.add(
            root, slug, "Regroup", path="test_app.py", access="login", allowed_groups=[sales]
        )
        page = f"/registered/{slug}/"
        assert (await alice.get(page)).status_code == 404
        await admin_http.change(
            root,
            pk,
            slug,
            "Regroup",
            path="test_app.py",
            access="login",
            allowed_groups=[analysts],
        )
        assert (await alice.get(page)).status_code == 200
        await admin_http.delete(root, pk)


async def test_sessions_are_listed_and_closed_from_the_admin_and_command(
    live: LiveServer, root: httpx.AsyncClient, alice: httpx.AsyncClient
) -> None:
    slug = unique("count")
    pk = await admin_http.add(root, slug, "Counted", path="test_app.py", access="login")
    page = f"/registered/{slug}/"
    session = sid()
    async with KernelSocket.open(live, page, session, cookies=cookie_header(alice)) as kernel:
        await kernel.output_containing("test-app-output")
        listed = sessions_command(live)
        assert listed.returncode == 0, listed.stderr
        line = next(line for line in listed.stdout.splitlines() if session in line)
        assert slug in line and "alice" in line
        changelist = (await root.get(admin_http.ADMIN, params={"q": slug})).text
        assert '<td class="field-sessions">1</td>' in changelist

        closing = sessions_command(live, "--close", session, "--wait", "15")
        assert closing.returncode == 0, closing.stderr
        assert "All closed." in closing.stdout
        assert await closed_by_server(kernel) == 4001
    assert session not in sessions_command(live).stdout

    async with KernelSocket.open(live, page, sid(), cookies=cookie_header(alice)) as kernel:
        await kernel.output_containing("test-app-output")
        await admin_http.action(root, "close_sessions", [pk])
        assert await closed_by_server(kernel) == 4001
    for _ in range(50):
        changelist = (await root.get(admin_http.ADMIN, params={"q": slug})).text
        if '<td class="field-sessions">0</td>' in changelist:
            break
        await asyncio.sleep(0.2)
    assert '<td class="field-sessions">0</td>' in changelist
    await admin_http.delete(root, pk)


async def test_the_check_action_reports_errors(live: LiveServer, root: httpx.AsyncClient) -> None:
    from pathlib import Path

    apps = Path(live.env["NOTEBOOK_HOST_TEST_APPS"])
    file = apps / f"{unique('check')}.py"
    file.write_bytes(titled("Check", "check-output"))
    slug = unique("check")
    pk = await admin_http.add(root, slug, "Check", path=file.name)
    page = await admin_http.action(root, "check_notebooks", [pk])
    assert f"Notebook {slug} loads: Check." in page.text
    file.write_text("import marimo\napp = marimo.App(\n")
    page = await admin_http.action(root, "check_notebooks", [pk])
    assert f"Notebook {slug}: {file.name} does not parse" in page.text
    await admin_http.delete(root, pk)


def manage_shell(live: LiveServer, code: str) -> None:
    """Run ``code`` in ``manage.py shell``: another process on the server's database."""
    done = live.manage("shell", "-v0", "-c", code)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "edit",
    [
        # save(): the signal flags the session's row for its server.
        "n = Notebook.objects.get(slug='{slug}'); n.enabled = False; n.save()",
        # A bare UPDATE sends no signal: the server's poll notices the row.
        "Notebook.objects.filter(slug='{slug}').update(enabled=False)",
        "Notebook.objects.filter(slug='{slug}').delete()",
    ],
)
async def test_edits_from_another_process_close_sessions(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient, edit: str
) -> None:
    slug = unique("elsewhere")
    await admin_http.add(root, slug, "Elsewhere", path="test_app.py")
    page = f"/registered/{slug}/"
    async with KernelSocket.open(live, page, sid()) as kernel:
        await kernel.output_containing("test-app-output")
        started = time.monotonic()
        manage_shell(live, "from notebook_host.models import Notebook; " + edit.format(slug=slug))
        # Closed by the server's poll, before any request for the page.
        assert await closed_by_server(kernel, timeout=10) == 4001
        assert time.monotonic() - started < 10
    assert (await anon.get(page)).status_code == 404


async def test_an_open_session_keeps_its_source_after_a_new_upload(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    from tests.browser.test_directory_browser import NOTEBOOK

    slug = unique("versions")
    page = f"/registered/{slug}/"
    v1 = NOTEBOOK.format(title="V1").encode()
    v2 = v1.replace(b"double is {amount.value * 2}", b"triple is {amount.value * 3}")
    pk = await admin_http.add(root, slug, "Versions", admin_http.notebook_file("v.py", v1))
    token = server_token((await anon.get(page)).text)  # sets anon's owner cookie
    session = sid()
    async with KernelSocket.open(live, page, session, cookies=cookie_header(anon)) as old:
        await old.output_containing("double is 10")
        await admin_http.change(root, pk, slug, "Versions", admin_http.notebook_file("v.py", v2))
        async with KernelSocket.open(live, page, sid()) as new:
            await new.output_containing("triple is 15")
        # The old session's widget changes still reach its own kernel and code.
        response = await anon.post(
            page + "api/kernel/set_ui_element_value",
            json={"objectIds": [old.object_id("Amount")], "values": [7]},
            headers={
                "Origin": live.url,
                "Marimo-Session-Id": session,
                "Marimo-Server-Token": token,
            },
        )
        assert response.status_code == 200, response.text
        await old.output_containing("double is 14")
    await admin_http.delete(root, pk)


async def test_query_parameters_are_checked_on_page_and_socket(
    live: LiveServer, root: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    """A registered notebook with a params form: the same checks as notebook(params=)."""
    from notebook_host.params.gate import CLOSE_INVALID

    slug = unique("filtered")
    page = f"/registered/{slug}/"
    source = (ROOT / "tests" / "notebooks" / "items.py").read_bytes()
    pk = await admin_http.add(
        root,
        slug,
        "Filtered",
        admin_http.notebook_file("items.py", source),
        access="public",
        params="devtools.params_forms.ItemFilter",
    )
    try:
        bare = await anon.get(page)
        assert bare.status_code == 302
        assert bare.headers["location"] == f"{page}?limit=100&offset=0&order_by=created_at"
        assert (await anon.get(page + "?limit=0")).status_code == 400
        assert (await anon.get(page + "?limit=5&offset=0&order_by=created_at")).status_code == 200
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with KernelSocket.open(live, page, sid(), query="limit=1000") as kernel:
                await kernel.next(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_INVALID

        document = (await anon.get("/registered/openapi.json")).json()
        names = [p["name"] for p in document["paths"][page]["get"]["parameters"]]
        assert {"limit", "offset", "order_by", "tags"} <= set(names)
    finally:
        await admin_http.delete(root, pk)
    assert page not in (await anon.get("/registered/openapi.json")).json()["paths"]


async def test_staff_without_the_deploy_permission_put_no_code_on_the_server(
    live: LiveServer, root: httpx.AsyncClient, dana: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    """add/change_notebook alone no longer mean "may run code as the server"."""
    assert (await dana.get(admin_http.ADMIN + "add/")).status_code == 403
    slug = unique("deploy")
    pk = await admin_http.add(
        root, slug, "Deploy", admin_http.notebook_file("deploy.py", titled("D", "deployed"))
    )
    form = (await dana.get(f"{admin_http.ADMIN}{pk}/change/")).text
    for name in ("upload", "path", "params"):
        assert f'name="{name}"' not in form, name
    response = await admin_http.post_form(
        dana,
        f"{admin_http.ADMIN}{pk}/change/",
        {**admin_http.fields(slug, "Renamed", path="/etc/passwd"), "params": "os.system"},
    )
    assert response.status_code == 302, response.text[-2000:]
    # the title changed (ordinary staff work), the code did not
    listing = await anon.get("/registered/", headers={"Accept": "application/json"})
    assert {"path": slug, "title": "Renamed", "url": f"/registered/{slug}/", "section": ""} in (
        listing.json()["notebooks"]
    )
    async with KernelSocket.open(live, f"/registered/{slug}/", sid()) as kernel:
        await kernel.output_containing("deployed")
    # positive control: the superuser may change the code
    await admin_http.change(
        root, pk, slug, "Renamed", admin_http.notebook_file("deploy.py", titled("D", "redeployed"))
    )
    async with KernelSocket.open(live, f"/registered/{slug}/", sid()) as kernel:
        await kernel.output_containing("redeployed")
