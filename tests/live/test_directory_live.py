"""notebook_directory() against a live daphne, over real HTTP and websockets.

Ports the HTTP/websocket-level cases of marimo's TestDynamicDirectoryMiddleware,
TestDynamicDirectoryMiddlewareSymlink and TestDynamicDirectoryMiddlewareSubMount
(tests/_server/test_asgi.py), plus every traversal form, deletion and edits.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from devtools.live import (
    KernelSocket,
    LiveServer,
    cookie_header,
    first_script_asset,
    server_token,
)

pytestmark = pytest.mark.asyncio

NOTEBOOK = """import marimo

app = marimo.App(app_title="{title}")


@app.cell
def _():
    import marimo as mo
    return (mo,)


@app.cell
def _(mo):
    mo.md("{marker}")
    return
"""


def apps_dir(live: LiveServer) -> Path:
    return Path(live.env["NOTEBOOK_HOST_TEST_APPS"])


def write_notebook(path: Path, title: str, marker: str) -> None:
    """Write atomically, as a deploy would, with a fresh modification time."""
    tmp = path.with_name("_tmp_" + uuid.uuid4().hex[:6] + ".py")
    tmp.write_text(NOTEBOOK.format(title=title, marker=marker))
    os.replace(tmp, path)


def raw_status(live: LiveServer, path: str) -> int:
    """GET ``path`` byte for byte (httpx would normalise dot segments)."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode("latin-1")
        )
        head = sock.recv(64).decode("latin-1")
    return int(head.split(" ", 2)[1])


def sid() -> str:
    return "s_" + uuid.uuid4().hex[:10]


async def test_non_matching_path_is_404(anon) -> None:
    assert (await anon.get("/other/path")).status_code == 404


async def test_missing_file_is_404(anon) -> None:
    assert (await anon.get("/apps/nonexistent/")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/apps/_hidden/",
        "/apps/.dotted/",
        "/apps/_private/inner/",
        "/apps/plain/",  # a .py file that is not a marimo notebook
        "/apps/notes/",  # a non-.py file
        "/apps/notes.txt/",
        "/apps/test_app.py/",
        "/apps/escape/",  # a symlink out of the folder
    ],
)
async def test_never_served(anon, path: str) -> None:
    assert (await anon.get(path)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/apps/../apps/test_app/",
        "/apps/nested/../test_app/",
        "/apps/%2e%2e/apps/test_app/",
        "/apps/nested/%2e%2e/test_app/",
        "/apps/nested%2f..%2ftest_app/",
        "/apps/nested%2F%2E%2E%2Ftest_app/",
        "/apps/..%5capps%5ctest_app/",
        "/apps/nested%5c..%5ctest_app/",
        "/apps/nested\\..\\test_app/",
        "/apps//etc/passwd/",
        "/apps/%2fetc%2fpasswd/",
        "/apps/%00test_app/",
    ],
)
async def test_traversal_forms_are_refused(live: LiveServer, path: str) -> None:
    assert raw_status(live, path) in (400, 404), path


async def test_valid_app_and_redirect_keep_query(anon) -> None:
    page = await anon.get("/apps/test_app/")
    assert page.status_code == 200
    assert "<title>Test App</title>" in page.text
    redirect = await anon.get("/apps/test_app?a=1&b=2")
    assert redirect.status_code in (301, 302)
    assert redirect.headers["location"] == "/apps/test_app/?a=1&b=2"


async def test_nested_and_deeply_nested(anon) -> None:
    assert "<title>Nested App</title>" in (await anon.get("/apps/nested/nested_app/")).text
    assert "<title>Deep App</title>" in (await anon.get("/apps/nested/deep/deep_app/")).text
    redirect = await anon.get("/apps/nested/deep/deep_app?x=1")
    assert redirect.headers["location"] == "/apps/nested/deep/deep_app/?x=1"


async def test_sub_paths_reach_the_notebook(anon) -> None:
    html = (await anon.get("/apps/nested/nested_app/")).text
    asset = first_script_asset(html)
    assert (await anon.get(f"/apps/nested/nested_app/assets/{asset}")).status_code == 200
    assert (await anon.get("/apps/nested/nested_app/health")).json()["status"] == "healthy"
    assert (await anon.get("/apps/nested/nested_app/nonsense")).status_code == 404


async def test_websockets_nested(live: LiveServer) -> None:
    for page, marker in (
        ("/apps/test_app/", "test-app-output"),
        ("/apps/nested/nested_app/", "nested-app-output"),
        ("/apps/nested/deep/deep_app/", "deep-app-output"),
    ):
        async with KernelSocket.open(live, page, sid()) as kernel:
            await kernel.output_containing(marker)


async def test_app_is_built_once(anon, live: LiveServer) -> None:
    for _ in range(3):
        assert (await anon.get("/apps/nested/deep/deep_app/")).status_code == 200
    assert live.log().count("Serving deep_app.py at /apps/nested/deep/deep_app/") == 1


async def test_file_added_edited_and_deleted_at_runtime(live: LiveServer, anon) -> None:
    name = "runtime_" + uuid.uuid4().hex[:6]
    file = apps_dir(live) / f"{name}.py"
    page = f"/apps/{name}/"
    assert (await anon.get(page)).status_code == 404

    write_notebook(file, "Version One", "version-one-output")
    assert "<title>Version One</title>" in (await anon.get(page)).text
    old_session = sid()
    async with KernelSocket.open(live, page, old_session) as kernel:
        await kernel.output_containing("version-one-output")

    time.sleep(0.01)  # a distinct modification time
    write_notebook(file, "Version Two", "version-two-output")
    assert "<title>Version Two</title>" in (await anon.get(page)).text
    async with KernelSocket.open(live, page, sid()) as kernel:
        await kernel.output_containing("version-two-output")
    # The session opened on version one still lives in its (retired) app.
    token = server_token((await anon.get(page)).text)
    response = await anon.post(
        page + "api/kernel/set_ui_element_value",
        json={"objectIds": [], "values": []},
        headers={
            "Origin": live.url,
            "Marimo-Session-Id": old_session,
            "Marimo-Server-Token": token,
        },
    )
    assert "Invalid session id" not in response.text

    file.unlink()
    assert (await anon.get(page)).status_code == 404
    assert (await anon.get(page + "health")).status_code == 404


async def test_validate_sync_async_and_exception(live: LiveServer, anon) -> None:
    assert (await anon.get("/validated/test_app/")).status_code == 200
    assert (await anon.get("/validated/secret_app/")).status_code == 404
    assert (await anon.get("/validated/secret_app/health")).status_code == 404
    assert (await anon.get("/avalidated/test_app/")).status_code == 200
    assert (await anon.get("/avalidated/secret_app/")).status_code == 404
    blocked = await anon.get("/avalidated/blocked_app/")
    assert blocked.status_code == 403
    for page in ("/validated/secret_app/", "/avalidated/blocked_app/"):
        with pytest.raises(Exception):  # noqa: B017 - any refusal of the handshake
            async with KernelSocket.open(live, page, sid()) as kernel:
                await kernel.next(timeout=10)


async def test_per_directory_access(anon, alice, bob, live: LiveServer) -> None:
    response = await anon.get("/private/test_app/")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/accounts/login/?next=/private/test_app/")
    assert (await alice.get("/private/test_app/")).status_code == 200
    assert (await alice.get("/staffapps/test_app/")).status_code == 404
    assert (await bob.get("/staffapps/test_app/")).status_code == 200
    async with KernelSocket.open(
        live, "/private/test_app/", sid(), cookies=cookie_header(alice)
    ) as kernel:
        await kernel.output_containing("test-app-output")


async def test_symlinked_folder_swapped_at_runtime(live: LiveServer, anon) -> None:
    assert "<title>Release one</title>" in (await anon.get("/swap/test_app/")).text
    current = Path(live.env["NOTEBOOK_HOST_TEST_SWAP"])
    releases = current.parent / "releases"
    try:
        tmp_link = current.with_name("current.tmp")
        tmp_link.symlink_to(releases / "two")
        os.replace(tmp_link, current)  # atomic, as deploy tools do
        assert "<title>Release two</title>" in (await anon.get("/swap/test_app/")).text
        async with KernelSocket.open(live, "/swap/test_app/", sid()) as kernel:
            await kernel.output_containing("test-app-output")
    finally:
        tmp_link = current.with_name("current.tmp")
        tmp_link.symlink_to(releases / "one")
        os.replace(tmp_link, current)


async def test_symlink_escape_is_refused(anon, live: LiveServer) -> None:
    assert (apps_dir(live) / "escape.py").is_symlink()
    assert (await anon.get("/apps/escape/")).status_code == 404
    with pytest.raises(Exception):  # noqa: B017
        async with KernelSocket.open(live, "/apps/escape/", sid()) as kernel:
            await kernel.next(timeout=10)


async def test_mounted_under_a_sub_path(live: LiveServer, anon) -> None:
    assert "<title>Nested App</title>" in (await anon.get("/sub/mounted/nested/nested_app/")).text
    assert (await anon.get("/mounted/nested/nested_app/")).status_code == 404
    async with KernelSocket.open(live, "/sub/mounted/nested/nested_app/", sid()) as kernel:
        await kernel.output_containing("nested-app-output")


async def test_broken_notebook_in_folder_is_a_clear_error(anon) -> None:
    response = await anon.get("/apps/broken_app/")
    assert response.status_code == 500
    assert "does not parse" in response.text
    assert (await anon.get("/apps/test_app/")).status_code == 200


class TestListing:
    async def test_html_lists_notebooks_in_sections(self, anon) -> None:
        response = await anon.get("/apps/")
        assert response.status_code == 200
        html = response.text
        for title in ("Test App", "Nested App", "Deep App", "Secret App"):
            assert f">{title}</a>" in html
        assert "nested/deep/</h2>" in html
        for hidden in ("Hidden", "Dotted", "Inner", "plain", "escape"):
            assert f">{hidden}</a>" not in html
        assert (await anon.get("/apps")).headers["location"] == "/apps/"

    async def test_json_listing(self, anon) -> None:
        response = await anon.get("/apps/", headers={"Accept": "application/json"})
        rows = {row["path"]: row for row in response.json()["notebooks"]}
        assert rows["nested/deep/deep_app"] == {
            "path": "nested/deep/deep_app",
            "title": "Deep App",
            "url": "/apps/nested/deep/deep_app/",
            "section": "nested/deep",
        }
        assert "_hidden" not in rows and "plain" not in rows and "escape" not in rows

    async def test_only_what_the_user_may_open(self, anon, alice, bob) -> None:
        validated = await anon.get("/validated/", headers={"Accept": "application/json"})
        paths = {row["path"] for row in validated.json()["notebooks"]}
        assert "test_app" in paths and "secret_app" not in paths
        staff_for_alice = await alice.get("/staffapps/", headers={"Accept": "application/json"})
        assert staff_for_alice.json() == {"notebooks": []}
        staff_for_bob = await bob.get("/staffapps/", headers={"Accept": "application/json"})
        assert len(staff_for_bob.json()["notebooks"]) > 3
        assert (await anon.get("/private/")).status_code == 302

    async def test_listing_follows_the_folder_live(self, live: LiveServer, anon) -> None:
        name = "listed_" + uuid.uuid4().hex[:6]
        file = apps_dir(live) / f"{name}.py"
        write_notebook(file, "Freshly Listed", "fresh")
        try:
            assert ">Freshly Listed</a>" in (await anon.get("/apps/")).text
        finally:
            file.unlink()
        assert ">Freshly Listed</a>" not in (await anon.get("/apps/")).text


async def test_other_sessions_survive_a_deleted_notebook(live: LiveServer, anon) -> None:
    name = "doomed_" + uuid.uuid4().hex[:6]
    file = apps_dir(live) / f"{name}.py"
    write_notebook(file, "Doomed", "doomed-output")
    async with (
        KernelSocket.open(live, f"/apps/{name}/", sid()) as doomed,
        KernelSocket.open(live, "/apps/test_app/", sid()) as other,
    ):
        await doomed.output_containing("doomed-output")
        await other.output_containing("test-app-output")
        file.unlink()
        assert (await anon.get(f"/apps/{name}/")).status_code == 404
        await asyncio.sleep(0.2)
        assert (await anon.get("/apps/test_app/")).status_code == 200
