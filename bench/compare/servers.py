"""The two servers as the clients see them: sign-in, the page's token, RSS peaks."""

from __future__ import annotations

import threading

import httpx

from devtools.client import (
    DASHBOARD,
)
from devtools.live import (
    login,
    server_token,
)
from devtools.procfs import process_tree, rss_kb
from devtools.targets import Target
from devtools.users import PASSWORD

# --------------------------------------------------------------------------- processes


class RssSampler:
    """Reads the server's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pids = process_tree(pid)
        self.interval = interval
        self.peak_kb = rss_kb(self.pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, rss_kb(self.pids))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak_kb = max(self.peak_kb, rss_kb(self.pids))


async def sign_in(target: Target) -> None:
    """alice's Django session cookie for the demo (not measured)."""
    async with httpx.AsyncClient(base_url=target.url, timeout=30) as client:
        await login(client, "alice", PASSWORD)
        target.cookies = dict(client.cookies.items())


async def read_token(target: Target) -> None:
    """The page's Marimo-Server-Token, as the frontend would send it."""
    async with target.client() as client:
        response = await client.get(DASHBOARD)
        response.raise_for_status()
        target.token = server_token(response.text)
