"""Kernels in worker processes: real daphne fronts, notebook workers and Redis.

Each cluster is two fronts and two workers on a throwaway redis-server
(devtools/cluster.py), with the channels_redis core layer; the basics
run on the pub/sub layer too. Fault tests kill and stop real processes and
put the cluster back together afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from devtools import admin_http
from devtools.browser import Problems, chromium, expect
from devtools.cluster import Cluster
from devtools.folders import make_folders
from devtools.live import ROOT, KernelSocket, LiveServer, cookie_header, login, server_token
from devtools.nginx import Nginx
from devtools.users import PASSWORD
from devtools.visitor import new_session_id
from notebook_host import closecodes
from tests.support.notebook_files import titled

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(120)]

PAGE = "/faults/"
PER_USER = 3


def start_cluster(workdir: Path, layer: str, fronts: int, workers: int) -> Cluster:
    env = {**make_folders(workdir), "NOTEBOOK_HOST_TEST_PER_USER": str(PER_USER)}
    cluster = Cluster(workdir, layer=layer, extra_env=env)
    try:
        cluster.start(fronts=fronts, workers=workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster-core"), "core", 2, 2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def pubsub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("cluster-pubsub"), "pubsub", 2, 1)
    yield cluster
    cluster.stop()


@contextlib.asynccontextmanager
async def browser(front: LiveServer, user: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=front.url, timeout=30) as client:
        if user:
            await login(client, user, PASSWORD)
        yield client


def same_browser(client: httpx.AsyncClient, front: LiveServer) -> httpx.AsyncClient:
    """The same cookies against another front (a balancer sending it elsewhere)."""
    return httpx.AsyncClient(base_url=front.url, timeout=30, cookies=client.cookies)


async def post_knob(
    client: httpx.AsyncClient, front: LiveServer, sid: str, token: str, oid: str, value: int
) -> httpx.Response:
    return await client.post(
        PAGE + "api/kernel/set_ui_element_value",
        json={"objectIds": [oid], "values": [value]},
        headers={"Origin": front.url, "Marimo-Session-Id": sid, "Marimo-Server-Token": token},
    )


async def until_closed(kernel: KernelSocket, timeout: float) -> tuple[int | None, float]:
    """Read until the server closes the socket: (close code, seconds waited)."""
    start = time.monotonic()
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await kernel.next(timeout=max(0.1, timeout - (time.monotonic() - start)))
    return kernel.ws.close_code, time.monotonic() - start


def texts(kernel: KernelSocket) -> str:
    return json.dumps(kernel.messages)


async def health(front: LiveServer, path: str = "", detail: bool = True) -> dict[str, Any]:
    """The health answer, with the workers' names unless ``detail`` is False."""
    headers = {"X-Test-Health-Detail": "yes"} if detail else {}
    async with httpx.AsyncClient(base_url=front.url, timeout=10, headers=headers) as client:
        response = await client.get("/registered/health/" + path)
        return {**response.json(), "http": response.status_code}


@contextlib.asynccontextmanager
async def opened(
    front: LiveServer, client: httpx.AsyncClient, sid: str | None = None
) -> AsyncIterator[tuple[KernelSocket, str, str, str]]:
    """A faults.py tab on ``front``: (socket, session id, server token, knob id)."""
    page = await client.get(PAGE)
    assert page.status_code == 200, page.status_code
    sid = sid or new_session_id()
    async with KernelSocket.open(front, PAGE, sid, cookies=cookie_header(client)) as kernel:
        kernel.ws.close_timeout = 1
        await kernel.kernel_ready()
        await kernel.output_containing("knob is 0")
        yield kernel, sid, server_token(page.text), kernel.object_id("knob")


async def turn(kernel: KernelSocket, response: httpx.Response, value: int) -> None:
    assert response.status_code == 200, response.text
    await kernel.output_containing(f"knob is {value}", timeout=20)


@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_page_from_one_front_post_to_another(
    layer: str, request: pytest.FixtureRequest
) -> None:
    cluster: Cluster = request.getfixturevalue(layer)
    one, two = cluster.fronts[:2]
    async with browser(one) as client, opened(one, client) as (kernel, sid, token, oid):
        async with same_browser(client, two) as other:
            response = await post_knob(other, two, sid, token, oid, 7)
            # the kernel-API fast path took it: no Django middleware, no query
            assert "X-Test-Middleware" not in response.headers
            await turn(kernel, response, 7)
            foreign = await other.post(
                PAGE + "api/kernel/set_ui_element_value",
                json={"objectIds": [oid], "values": [1]},
                headers={"Origin": "http://evil.example", "Marimo-Session-Id": sid},
            )
            assert foreign.status_code == 403
        await turn(kernel, await post_knob(client, one, sid, token, oid, 8), 8)
    assert "placed on worker" in cluster.fronts[0].log()


async def test_sessions_go_to_the_least_loaded_worker(core: Cluster) -> None:
    one = core.fronts[0]
    # Kernels of earlier tests wait out their SESSION_TTL (30 s): one expiring
    # between this count and the placement would change the answer, so start
    # from workers with no session.
    deadline = time.monotonic() + 45
    while (report := await health(one))["worker_sessions"] > 0:
        assert time.monotonic() < deadline, report
        await asyncio.sleep(0.5)
    before = {w["name"]: w["sessions"] for w in report["workers"]}
    async with contextlib.AsyncExitStack() as stack:
        placed = []
        for _ in range(2):
            client = await stack.enter_async_context(browser(one))
            _, sid, _, _ = await stack.enter_async_context(opened(one, client))
            line = next(x for x in one.log().splitlines() if f"Session {sid} placed" in x)
            placed.append(line.rsplit(" ", 1)[-1])
        expected, load = [], dict(before)
        for _ in range(2):  # what least-loaded placement does with these counts
            name = min(sorted(load), key=lambda n: load[n])
            expected.append(name)
            load[name] += 1
        assert placed == expected, (before, placed)
        deadline = time.monotonic() + 5  # counts come with the next heartbeats
        while (report := await health(core.fronts[1]))["worker_sessions"] < 2:
            assert time.monotonic() < deadline, report
            await asyncio.sleep(0.3)
        assert report["workers_alive"] == 2 and report["http"] == 200


async def test_another_browser_cannot_use_a_session_on_any_front(core: Cluster) -> None:
    one, two = core.fronts[:2]
    async with browser(one, "alice") as alice, opened(one, alice) as (kernel, sid, token, oid):
        for front in (one, two):
            async with browser(front, "bob") as bob:
                response = await post_knob(bob, front, sid, token, oid, 3)
                assert response.status_code == 404
                await bob.get(PAGE)
                with pytest.raises(websockets.InvalidStatus, match="403"):
                    async with KernelSocket.open(front, PAGE, sid, cookies=cookie_header(bob)):
                        pass
        await turn(kernel, await post_knob(alice, one, sid, token, oid, 4), 4)


async def test_per_user_limit_counts_across_fronts(core: Cluster) -> None:
    fronts = core.fronts[:2]
    async with browser(fronts[0], "carol") as carol, contextlib.AsyncExitStack() as stack:
        for index in range(PER_USER):
            front = fronts[index % 2]
            client = await stack.enter_async_context(same_browser(carol, front))
            await stack.enter_async_context(opened(front, client))
        refused_on = fronts[PER_USER % 2]
        async with KernelSocket.open(
            refused_on, PAGE, new_session_id(), cookies=cookie_header(carol)
        ) as extra:
            await extra.wait_for(
                lambda k: any(m.get("op") == "kernel-startup-error" for m in k.messages), 15
            )
            assert f"limit {PER_USER}" in texts(extra)


async def test_download_through_another_front(core: Cluster) -> None:
    one, two = core.fronts[:2]
    async with browser(one) as client, opened(one, client) as (kernel, _, _, _):
        html = await kernel.output_containing("big download")
        match = re.search(r"\./(@file/[^&\"']+)", html)
        assert match, html[:500]
        async with same_browser(client, two) as other:
            got = await other.get(PAGE + match.group(1))
            assert got.status_code == 200, got.text[:300]
            assert got.content == b"0123456789" * 500_000
        async with browser(two) as stranger:
            assert (await stranger.get(PAGE + match.group(1))).status_code == 404


async def test_rows_name_the_worker_and_the_command_closes_on_any_worker(core: Cluster) -> None:
    one = core.fronts[0]

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "notebook_sessions", *args],
            cwd=ROOT,
            env=one.environ(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    async with browser(one, "alice") as alice:
        async with opened(one, alice) as (kernel, sid, _, _):
            listing = command()
            row = next(line for line in listing.stdout.splitlines() if sid in line)
            assert "(worker" in row, listing.stdout
            closed = command("--close", sid, "--wait", "10")
            assert closed.returncode == 0, closed.stderr
            code, _ = await until_closed(kernel, 10)
            assert code == 4001
        # the kernel on its worker is gone too: the same id starts afresh
        async with KernelSocket.open(one, PAGE, sid, cookies=cookie_header(alice)) as again:
            await again.wait_for(
                lambda k: any(m.get("op") in ("kernel-ready", "reconnected") for m in k.messages),
                20,
            )
            assert any(m.get("op") == "kernel-ready" for m in again.messages)


async def test_no_worker_shows_the_dialog_and_recovers(pubsub: Cluster) -> None:
    front = pubsub.fronts[0]
    for worker in list(pubsub.workers):
        assert worker.stop() == 0
        pubsub.workers.remove(worker)
    deadline = time.monotonic() + 15
    while (await health(front))["workers_alive"]:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.3)
    assert (await health(front))["http"] == 503
    async with browser(front) as client:
        assert (await client.get(PAGE)).status_code == 200
        async with KernelSocket.open(
            front, PAGE, new_session_id(), cookies=cookie_header(client)
        ) as waiting:
            await waiting.wait_for(
                lambda k: any(m.get("op") == "kernel-startup-error" for m in k.messages), 10
            )
            assert "No notebook worker" in texts(waiting)
            pubsub.add_worker("worker-back")
            await waiting.wait_for(lambda k: any(m.get("op") == "reload" for m in k.messages), 20)
        async with opened(front, client):
            pass


async def test_browser_through_nginx_round_robin(core: Cluster) -> None:
    """Chromium signs in and moves a slider through nginx; both fronts serve it."""
    balancer = Nginx([f.port for f in core.fronts[:2]], folder=core.workdir / "nginx").start()
    page_path = "/faults-login/"
    try:
        async with chromium() as engine:
            context = await engine.new_context(base_url=balancer.url)
            page = await context.new_page()
            problems = Problems(page, balancer.url)
            await page.goto("/accounts/login/?next=" + page_path)
            await page.get_by_label("Username").fill("alice")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page).to_have_url(balancer.url + page_path)
            slider = page.get_by_role("slider")
            await expect(page.get_by_text("knob is 0", exact=True)).to_be_visible()
            await slider.focus()
            for value in range(1, 6):
                await page.keyboard.press("ArrowRight")
                await expect(page.get_by_text(f"knob is {value}", exact=True)).to_be_visible()
            await context.close()
            assert not problems.errors, problems.errors
    finally:
        balancer.stop()
    calls = f"POST {page_path}api/kernel/set_ui_element_value"
    served = [front.log().count(calls) for front in core.fronts[:2]]
    assert sum(served) >= 5 and all(served), (served, balancer.access_log()[-2000:])


def placed_worker(front: LiveServer, sid: str) -> str:
    line = next(x for x in front.log().splitlines() if f"Session {sid} placed" in x)
    return line.rsplit(" ", 1)[-1]


async def test_admin_edits_and_disables_reach_every_worker(core: Cluster) -> None:
    """An upload and a disable saved on one front reach the kernels of both workers."""
    one, two = core.fronts[:2]
    slug = f"everywhere-{new_session_id()[2:8].lower()}"
    page = f"/registered/{slug}/"
    first, second = titled("Everywhere", "first-output"), titled("Everywhere", "second-output")

    async def tab(stack: contextlib.AsyncExitStack, expected: str) -> tuple[KernelSocket, str]:
        client = await stack.enter_async_context(browser(two))
        assert (await client.get(page)).status_code == 200
        sid = new_session_id()
        kernel = await stack.enter_async_context(
            KernelSocket.open(two, page, sid, cookies=cookie_header(client))
        )
        kernel.ws.close_timeout = 1
        await kernel.output_containing(expected)
        return kernel, placed_worker(two, sid)

    async with browser(one, "root") as root, contextlib.AsyncExitStack() as stack:
        pk = await admin_http.add(root, slug, "Everywhere", admin_http.notebook_file("e.py", first))
        old: dict[str, KernelSocket] = {}
        for _ in range(6):  # least-loaded placement alternates between the workers
            kernel, worker = await tab(stack, "first-output")
            old.setdefault(worker, kernel)
            if len(old) == 2:
                break
        assert sorted(old) == sorted(w.name for w in core.workers)
        # a new upload: new sessions on every worker run it, open ones keep theirs
        await admin_http.change(
            root, pk, slug, "Everywhere", admin_http.notebook_file("e.py", second)
        )
        new: set[str] = set()
        for _ in range(6):
            new.add((await tab(stack, "second-output"))[1])
            if len(new) == 2:
                break
        assert new == set(old)
        for kernel in old.values():
            assert not any("second-output" in out for out in kernel.outputs.values())
            assert kernel.ws.close_code is None
        # disabled: 404 on every front, and the open sockets on both workers close
        await admin_http.change(root, pk, slug, "Everywhere", enabled=None)
        for front in (one, two):
            async with browser(front) as anon:
                assert (await anon.get(page)).status_code == 404
        for kernel in old.values():
            code, _ = await until_closed(kernel, 15)
            assert code == 4001


async def test_sse_is_refused_on_every_front(core: Cluster) -> None:
    """marimo's second kernel transport would start kernels on a front: refused there."""
    one, two = core.fronts[:2]
    async with browser(one, "alice") as alice, opened(one, alice) as (kernel, sid, token, oid):
        for front in (one, two):
            async with browser(front) as anon, browser(front, "bob") as bob:
                for client, session in ((anon, new_session_id()), (bob, sid)):
                    async with client.stream("GET", f"{PAGE}sse?session_id={session}") as sse:
                        assert sse.status_code == 404
        # alice's kernel was neither taken over nor disturbed
        await turn(kernel, await post_knob(alice, one, sid, token, oid, 5), 5)


async def test_signing_out_on_any_front_ends_the_kernel_on_its_worker(core: Cluster) -> None:
    one, two = core.fronts[:2]
    async with (
        browser(one, "carol") as carol,
        opened(one, carol) as (kernel, sid, token, oid),
        same_browser(carol, two) as copy,
    ):
        # positive control: a copy of the cookie, through the other front, works
        await turn(kernel, await post_knob(copy, two, sid, token, oid, 6), 6)
        signed_out = await carol.post(
            "/accounts/logout/",
            data={"csrfmiddlewaretoken": carol.cookies["csrftoken"]},
            headers={"Referer": one.url + "/"},
        )
        assert signed_out.status_code in (200, 302)
        code, _ = await until_closed(kernel, 20)
        assert code == closecodes.SIGNED_OUT
        refused = await post_knob(copy, two, sid, token, oid, 7)
        assert refused.status_code == 404, refused.text
