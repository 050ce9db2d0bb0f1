"""Run a command against a throwaway PostgreSQL server from Debian's packages.

``python -m devtools.postgres CMD...`` initialises a cluster in a temporary
folder, starts it on a free port with its unix socket in that folder (no TCP
listener), runs CMD with PGHOST/PGPORT/PGUSER set, then stops the server and
removes the folder, whatever CMD's outcome. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` user (via runuser).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.live import free_port


def bin_dir() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian keeps them per version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version, reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")


def _version(path: str) -> int:
    try:
        return int(Path(path).parent.parent.name)
    except ValueError:
        return 0


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs PostgreSQL's tools as a non-root user."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


def main(command: list[str]) -> int:
    binaries = bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="notebook-host-pg-"))
    prefix = _as_server_user(folder)
    data, port = folder / "data", free_port()
    options = (
        f"-k {folder} -p {port} -c listen_addresses='' "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = [*prefix, str(binaries / "pg_ctl"), "-D", str(data)]
    started = False
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*prefix, *initdb, "-E", "UTF8", "--no-locale"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        subprocess.run(
            [*pg_ctl, "-l", str(folder / "server.log"), "-w", "-o", options, "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        started = True
        env = {**os.environ, "PGHOST": str(folder), "PGPORT": str(port), "PGUSER": "postgres"}
        return subprocess.call(command, env=env)
    finally:
        if started:
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m devtools.postgres COMMAND [ARGS...]")
    sys.exit(main(sys.argv[1:]))
