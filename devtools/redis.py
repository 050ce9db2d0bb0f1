"""A throwaway redis-server from Debian's package, for the cluster tests.

:class:`RedisServer` runs ``redis-server`` with deploy/redis/notebook-host.conf
(noeviction, no persistence, a password: a random one here) in a temporary
folder on a free loopback port, and stops it (and removes the folder)
whatever happens; it can be stopped and started again on the same port, to
test what a Redis restart does. ``python -m devtools.redis CMD...``
runs CMD with ``NOTEBOOK_HOST_TEST_REDIS`` set to the server's URL.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from devtools.live import ROOT, free_port, stop_process

#: The Redis configuration of docs/operations.md, used as it is deployed.
CONFIG = ROOT / "deploy" / "redis" / "notebook-host.conf"

#: Seconds redis-server gets to answer PING after it starts.
START_TIMEOUT = 15.0


def binary() -> str:
    """The redis-server executable, or a clear error saying how to get it."""
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed: run `make redis` (apt redis-server)")
    return found


class RedisServer:
    """One redis-server process on 127.0.0.1 with its files in a temp folder."""

    def __init__(self, folder: Path | None = None, *extra: str) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="notebook-host-redis-"))
        self.port = free_port()
        self.password = secrets.token_hex(8)
        #: More ``--name value`` arguments (a test's eviction policy).
        self.extra = list(extra)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start (or restart) the server on its port and wait until it answers."""
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                binary(),
                str(CONFIG),
                "--requirepass",
                self.password,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                *self.extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.log()}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT}s:\n{self.log()}")

    def ping(self) -> bool:
        """True when the server answers PING (a raw RESP exchange, no client)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                answer = b""
                while answer.count(b"\r\n") < 2:
                    piece = sock.recv(64)
                    if not piece:
                        return False
                    answer += piece
                return answer == b"+OK\r\n+PONG\r\n"
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running() -> Iterator[RedisServer]:
    """A started server, stopped and removed afterwards even on failure."""
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.remove()


def main(command: list[str]) -> int:
    with running() as server:
        return subprocess.call(command, env={**os.environ, "NOTEBOOK_HOST_TEST_REDIS": server.url})


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m devtools.redis COMMAND [ARGS...]")
    sys.exit(main(sys.argv[1:]))
