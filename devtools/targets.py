"""A server under measurement as the clients see it, and plain marimo under uvicorn.

The benchmarks (bench/compare/, bench/cluster.py) and the screenshot test drive both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.client import DASHBOARD, api_headers, kernel_socket
from devtools.live import ROOT, free_port, read_log, stop_process, wait_ready

# --------------------------------------------------------------------------- servers


@dataclass
class Target:
    """One server under test, as the clients see it."""

    name: str
    port: int
    pid: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def client(self, connections: int = 10) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        return httpx.AsyncClient(base_url=self.url, cookies=self.cookies, timeout=60, limits=limits)

    def api_headers(self, session_id: str) -> dict[str, str]:
        return api_headers(self.url, session_id, self.token)

    def socket(self, page: str, session_id: str, open_timeout: float = 60):
        """The kernel websocket of ``page`` with this target's cookies."""
        return kernel_socket(
            self.ws_url,
            page,
            session_id,
            origin=self.url,
            cookies=self.cookie_header(),
            open_timeout=open_timeout,
        )


class PlainMarimo:
    """devtools/plain_marimo.py under uvicorn on a free loopback port."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / "uvicorn.log"
        self.proc: subprocess.Popen | None = None
        self.env = env or {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.plain_marimo", "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc is not None
        wait_ready(self.proc, self.url + DASHBOARD + "health", "plain marimo", self.log, timeout)

    def stop(self, timeout: float = 10) -> int | None:
        return stop_process(self.proc, timeout)

    def log(self) -> str:
        return read_log(self.log_path)
