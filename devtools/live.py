"""A real daphne serving the test project, and protocol-level clients for it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]


#: Seconds daphne gives a websocket handshake to be accepted (its default: 5).
WEBSOCKET_CONNECT_TIMEOUT = 30

#: The ASGI server a LiveServer runs: "daphne" (the default) or "uvicorn"
#: (docs/deployment.md's flags); the environment variable picks it for a run
#: (make test's front tier, bench --server), children included.
SERVERS = ("daphne", "uvicorn")
SERVER_ENV = "NOTEBOOK_HOST_ASGI_SERVER"


def server_command(server: str, port: int) -> list[str]:
    """The command line that serves project.asgi on 127.0.0.1:``port``."""
    if server == "daphne":
        return [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            # A burst of tabs on two cores can take longer than daphne's
            # default 5 s to accept; it would drop those handshakes.
            "--websocket_connect_timeout",
            str(WEBSOCKET_CONNECT_TIMEOUT),
            "project.asgi:application",
        ]
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *UVICORN_FLAGS,
            "project.asgi:application",
        ]
    raise ValueError(f"server is one of {', '.join(SERVERS)}, not {server!r}")


#: The flags docs/deployment.md recommends for a uvicorn front.
UVICORN_FLAGS = (
    "--lifespan",
    "on",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--ws",
    "websockets-sansio",
    "--timeout-graceful-shutdown",
    "5",
)


def default_server() -> str:
    server = os.environ.get(SERVER_ENV, "daphne")
    if server not in SERVERS:
        raise ValueError(f"{SERVER_ENV} is one of {', '.join(SERVERS)}, not {server!r}")
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """daphne (or uvicorn) on a free loopback port, with its own SQLite file and log."""

    workdir: Path
    settings: str = "tests.projects.default.settings"
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/plain/"
    server: str = field(default_factory=default_server)
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "daphne.log"

    def manage(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py <args>`` as another process on this server's database."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def environ(self) -> dict[str, str]:
        return {
            # The demo project refuses to start without a key unless DEBUG is on.
            "DJANGO_DEBUG": "1",
            "DJANGO_SECRET_KEY": "test-only-secret-key",
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings,
            "DJANGO_SQLITE_PATH": str(self.workdir / "db.sqlite3"),
            "DJANGO_MEDIA_ROOT": str(self.workdir / "media"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
            **self.env,
        }

    def prepare(self) -> None:
        """Migrate the database and create the test users."""
        env = self.environ()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import django; django.setup(); "
                "from devtools.users import create_test_users; create_test_users()",
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )

    def start(self, same_port: bool = False) -> LiveServer:
        """Start daphne (again: on its last port with ``same_port``, as a restart does)."""
        if not (same_port and self.port):
            self.port = free_port()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            server_command(self.server, self.port),
            cwd=ROOT,
            env=self.environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.proc, self.url + self.ready_path, self.server, self.log, timeout=60)
        return self

    def stop(self, timeout: float = 10) -> int | None:
        return stop_process(self.proc, timeout)

    @property
    def clean_exit(self) -> int:
        """The exit status of a clean stop on SIGTERM.

        uvicorn re-raises the signal it shut down on once it is done (the
        status is -SIGTERM; systemd counts that as a clean stop too).
        """
        return -signal.SIGTERM if self.server == "uvicorn" else 0

    def log(self) -> str:
        return read_log(self.log_path)


def wait_ready(
    proc: subprocess.Popen, url: str, name: str, log: Callable[[], str], timeout: float
) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start:\n{log()}")


def stop_process(proc: subprocess.Popen | None, timeout: float = 10) -> int | None:
    """SIGTERM, then kill if it lingers; returns the exit code."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def login(client: httpx.AsyncClient, username: str, password: str) -> None:
    """Sign in through Django's own login view, as a browser would."""
    page = await client.get("/accounts/login/")
    assert page.status_code == 200, page.status_code
    response = await client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": str(client.base_url) + "/accounts/login/"},
    )
    assert response.status_code == 302, f"login failed for {username}"


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def server_token(html: str) -> str:
    match = re.search(r'data-token="([^"]*)"', html)
    assert match, "page carries no marimo server token"
    return match.group(1)


class KernelSocket:
    """A marimo kernel websocket, read as the frontend would."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.outputs: dict[str, str] = {}
        self.console: list[str] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        server: LiveServer,
        page: str,
        session_id: str,
        *,
        cookies: str = "",
        origin: str | None = None,
        query: str = "",
    ):
        url = f"{server.ws_url}{page}ws?session_id={session_id}"
        if query:
            url += "&" + query
        headers = {"Origin": origin or server.url}
        if cookies:
            headers["Cookie"] = cookies
        # A browser reads every frame as it comes; with websockets' default
        # flow control (16 unread frames) a socket the test is not reading
        # stops reading TCP, misses daphne's close handshake and sees 1006.
        async with websockets.connect(
            url, additional_headers=headers, open_timeout=20, max_queue=None
        ) as ws:
            yield cls(ws)

    async def next(self, timeout: float = 20) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(raw)
        self.messages.append(message)
        data = message.get("data", {})
        if message.get("op") == "cell-op":
            output = data.get("output")
            if output and output.get("data") is not None:
                self.outputs[data["cell_id"]] = str(output["data"])
            console = data.get("console")
            for item in console if isinstance(console, list) else [console] if console else []:
                self.console.append(str(item.get("data", "")))
        return message

    async def wait_for(
        self, predicate: Callable[[KernelSocket], bool], timeout: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met; last messages: {self.messages[-5:]}")
            await self.next(remaining)

    async def closed_with(self, timeout: float = 15) -> int | None:
        """Read until the server closes the socket: the code it sent (None: it did not)."""
        try:
            while True:
                await self.next(timeout=timeout)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        except TimeoutError:
            return None

    async def kernel_ready(self, timeout: float = 30) -> dict[str, Any]:
        await self.wait_for(
            lambda k: any(m.get("op") == "kernel-ready" for m in k.messages), timeout
        )
        return next(m for m in self.messages if m.get("op") == "kernel-ready")["data"]

    async def output_containing(self, text: str, timeout: float = 30) -> str:
        def found(k: KernelSocket) -> bool:
            return any(text in out for out in k.outputs.values())

        await self.wait_for(found, timeout)
        return next(out for out in self.outputs.values() if text in out)

    def object_id(self, label: str) -> str:
        """The marimo object id of the UI element whose output mentions ``label``."""
        for out in self.outputs.values():
            if label in out:
                match = re.search(r"object-id='([^']+)'|object-id=\"([^\"]+)\"", out)
                if match:
                    return match.group(1) or match.group(2)
        raise AssertionError(f"no UI element labelled {label!r}")


def meta_report(html: str) -> dict[str, Any]:
    """The JSON report tests/notebooks/meta.py prints."""
    match = re.search(r"<pre class='meta-report'>(.*?)</pre>", html, re.S)
    assert match, html[:300]
    import html as html_lib

    return json.loads(html_lib.unescape(match.group(1)))


def first_script_asset(html: str) -> str:
    """The file name of the page's first script under an ``assets/`` folder."""
    match = re.search(r'<script[^>]*src="[^"]*assets/([^"/]+\.js)"', html)
    assert match, "page references no script asset"
    return match.group(1)
