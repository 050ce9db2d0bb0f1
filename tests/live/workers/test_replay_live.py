"""Replay on a real cluster: a tab whose worker is killed comes back as its viewer left it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from devtools.browser import Problems, chromium, expect
from devtools.cluster import Cluster, WorkerProcess
from devtools.nginx import Nginx
from devtools.users import PASSWORD
from tests.live.workers.test_cluster_faults_live import placed_on, reconnect
from tests.live.workers.test_cluster_live import (
    browser,
    opened,
    post_knob,
    same_browser,
    start_cluster,
    texts,
    turn,
    until_closed,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(150)]

#: The cluster project's WORKER_EXPIRY (tests/projects/cluster/settings.py).
WORKER_EXPIRY = 4.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    started = start_cluster(tmp_path_factory.mktemp("replay"), "core", 2, 2)
    yield started
    started.stop()


async def test_kill_9_worker_the_tab_comes_back_with_its_values(cluster: Cluster) -> None:
    front, other = cluster.fronts[0], cluster.fronts[1]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, front, sid, token, oid, 7), 7)
        victim_name = placed_on(cluster, sid)
        victim = next(w for w in cluster.workers if w.name == victim_name)
        victim.kill()  # kill -9
        killed = time.monotonic()
        code, _ = await until_closed(kernel, 15)
        assert code == 4510, (code, texts(kernel)[-500:])
        assert "restores your widget values" in texts(kernel)
    async with same_browser(client, other) as moved:
        # as marimo's frontend does: the same session id again, through any front
        restored = await reconnect(other, moved, sid)
        try:
            await restored.output_containing("knob is 7", timeout=20)
            assert time.monotonic() - killed < WORKER_EXPIRY + 10
            assert "Session restored" in texts(restored)
            assert placed_on(cluster, sid) != victim_name
            # the restored kernel takes further changes as before
            restored.outputs.clear()
            await turn(restored, await post_knob(moved, other, sid, token, oid, 8), 8)
        finally:
            await restored._stack.aclose()
    cluster.workers.remove(victim)
    cluster.add_worker(victim_name + "-again")


async def test_a_worker_restarted_under_its_name_gives_its_tabs_their_values(
    cluster: Cluster,
) -> None:
    """systemd restarts a killed worker under the same name: its tabs must not wait on it.

    The new process beats under the old name (with a new channel), so a front
    that knew workers by name only took it for the one holding the kernel: the
    tab stayed open on a dead kernel. The replacement starts before the kill so
    it beats under the name well within WORKER_EXPIRY.
    """
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, front, sid, token, oid, 6), 6)
        victim_name = placed_on(cluster, sid)
        victim = next(w for w in cluster.workers if w.name == victim_name)
        replacement = WorkerProcess(victim.name, victim.env, victim.workdir).start()
        cluster.workers[cluster.workers.index(victim)] = replacement
        victim.kill()  # kill -9; the replacement now beats alone under its name
        killed = time.monotonic()
        code, _ = await until_closed(kernel, 20)
        assert code == 4510, (code, texts(kernel)[-500:])
    back = await reconnect(front, client, sid)
    try:
        await back.output_containing("knob is 6", timeout=20)
        assert time.monotonic() - killed < WORKER_EXPIRY + 10
    finally:
        await back._stack.aclose()


async def test_redis_restart_the_tab_comes_back_with_its_values(cluster: Cluster) -> None:
    """A restart empties Redis (no persistence): the tab closed 4511 shows its value again."""
    front = cluster.fronts[0]
    async with browser(front) as client, opened(front, client) as (kernel, sid, token, oid):
        await turn(kernel, await post_knob(client, front, sid, token, oid, 7), 7)
        cluster.redis.stop()
        restarted = time.monotonic()
        try:
            await asyncio.sleep(1.0)  # the front's watchdog sees the outage
        finally:
            cluster.redis.start()  # same port, empty
        code, _ = await until_closed(kernel, 15)
        assert code == 4511, (code, texts(kernel)[-500:])
        assert any("knob is 7" in out for out in kernel.outputs.values())  # the page shows
        # as marimo's frontend does: the same session id again, at once
        back = await reconnect(front, client, sid)
        try:
            ops = [m.get("op") for m in back.messages]
            if "kernel-ready" in ops:  # a new kernel: it must start with the values
                await back.output_containing("knob is 7", timeout=20)
            else:  # the kernel survived: the page keeps showing knob is 7
                assert "reconnected" in ops, ops
            assert time.monotonic() - restarted < WORKER_EXPIRY + 10
            # the session takes (and records) changes as before
            back.outputs.clear()
            await turn(back, await post_knob(client, front, sid, token, oid, 8), 8)
        finally:
            await back._stack.aclose()


async def test_chromium_through_nginx_the_page_comes_back_by_itself(cluster: Cluster) -> None:
    """alice moves the slider to 7; her worker is killed; the page shows 7 again, untouched."""
    balancer = Nginx([f.port for f in cluster.fronts[:2]], folder=cluster.workdir / "nginx")
    balancer.start()
    page_path = "/faults-login/"
    try:
        async with chromium() as engine:
            context = await engine.new_context(base_url=balancer.url)
            page = await context.new_page()
            sockets: list[str] = []
            page.on("websocket", lambda ws: sockets.append(ws.url))
            await page.goto("/accounts/login/?next=" + page_path)
            await page.get_by_label("Username").fill("alice")
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_text("knob is 0", exact=True)).to_be_visible()
            problems = Problems(page, balancer.url)
            slider = page.get_by_role("slider")
            await slider.focus()
            for _ in range(7):
                await page.keyboard.press("ArrowRight")
            await expect(page.get_by_text("knob is 7", exact=True)).to_be_visible()
            sid = next(u for u in sockets if "session_id=" in u).split("session_id=")[1]
            sid = sid.split("&")[0]
            victim_name = placed_on(cluster, sid)
            victim = next(w for w in cluster.workers if w.name == victim_name)
            victim.kill()  # kill -9
            killed = time.monotonic()
            # no action on the page: it reconnects and says (a toast) its values came back
            await expect(page.get_by_text("Session restored").first).to_be_visible(
                timeout=int((WORKER_EXPIRY + 10) * 1000)
            )
            await expect(page.get_by_text("knob is 7", exact=True)).to_be_visible()
            await expect(slider).to_have_attribute("aria-valuenow", "7")
            assert time.monotonic() - killed < WORKER_EXPIRY + 10
            assert placed_on(cluster, sid) != victim_name
            await context.close()
            assert not problems.errors, problems.errors
    finally:
        balancer.stop()
    cluster.workers.remove(victim)
    cluster.add_worker(victim_name + "-again")
