"""A throwaway nginx balancing round-robin (no stickiness) over daphne fronts.

It runs deploy/nginx/notebook-host.conf, the site configuration the docs
ship, with only the fronts' ports and its own listening port put in.
Debian's nginx runs with its config, logs and temp folders in one temporary
folder, on a loopback port; its access log names the upstream of each
request, so a test can tell which front served what.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devtools.live import ROOT, free_port, stop_process

#: The site configuration of docs/operations.md.
SITE = ROOT / "deploy" / "nginx" / "notebook-host.conf"

#: Access log line: ``<request> -> <upstream address> <status>``.
LOG_FORMAT = "'$request -> $upstream_addr $status'"

_SERVERS = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+ max_fails=0;\n", re.M)
_LISTEN = re.compile(r"^(\s*)listen 80;$", re.M)


def binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed: run `make nginx` (apt nginx)")
    return found


def site(port: int, upstreams: list[int]) -> str:
    """deploy's site configuration listening on 127.0.0.1:``port``, over ``upstreams``."""
    text = SITE.read_text()
    servers = list(_SERVERS.finditer(text))
    if not servers or not _LISTEN.search(text):
        raise RuntimeError(f"{SITE} no longer has the upstream servers or `listen 80;` line")
    indent = servers[0].group(1)
    lines = "".join(f"{indent}server 127.0.0.1:{p} max_fails=0;\n" for p in upstreams)
    text = text[: servers[0].start()] + lines + text[servers[-1].end() :]
    return _LISTEN.sub(rf"\g<1>listen 127.0.0.1:{port};", text)


def main_config(folder: Path, include: Path) -> str:
    """An nginx.conf whose http block includes ``include`` (a site file)."""
    temp = " ".join(
        f"{name}_temp_path {folder / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
  log_format upstreams {LOG_FORMAT};
  access_log {folder / "access.log"} upstreams;
  {temp}
  include {include};
}}
"""


def config(folder: Path, port: int, upstreams: list[int]) -> str:
    """An nginx.conf proxying HTTP and websockets to ``upstreams`` in turn."""
    rendered = folder / "site.conf"
    rendered.write_text(site(port, upstreams))
    return main_config(folder, rendered)


class Nginx:
    """nginx on 127.0.0.1:``port`` (a free one by default) in front of ``upstreams``."""

    def __init__(self, upstreams: list[int], port: int = 0, folder: Path | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="notebook-host-nginx-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.upstreams = upstreams
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> Nginx:
        conf = self.folder / "nginx.conf"
        conf.write_text(config(self.folder, self.port, self.upstreams))
        log = (self.folder / "stderr.log").open("ab")
        self.proc = subprocess.Popen(
            [
                binary(),
                "-c",
                str(conf),
                "-p",
                str(self.folder),
                "-e",
                str(self.folder / "error.log"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited early:\n{self.errors()}")
            if (self.folder / "nginx.pid").exists():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start:\n{self.errors()}")

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)

    def errors(self) -> str:
        parts = [self.folder / "error.log", self.folder / "stderr.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def access_log(self) -> str:
        path = self.folder / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""
