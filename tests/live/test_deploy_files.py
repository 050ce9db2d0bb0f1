"""deploy/: each file checked by the tool that will read it (systemd, nginx, redis, Django).

The nginx site and the Redis configuration also run in every cluster test
(devtools/nginx.py, devtools/redis.py); here they are checked as
shipped, and each check is shown to catch a broken copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from devtools import nginx
from devtools.live import ROOT
from devtools.redis import RedisServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*@.service"))
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes")


def verify(folder: Path, text: str, name: str) -> subprocess.CompletedProcess:
    """``systemd-analyze verify`` of ``text`` as instance 1 of template ``name``."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (`make systemd`: apt systemd)")
    unit = folder / name.replace("@.", "@1.")
    unit.write_text(text)
    return subprocess.run(
        [tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )


def installed_here(text: str) -> str:
    """The unit with this checkout in place of /srv/notebook-host (its programs exist)."""
    return text.replace("/srv/notebook-host", str(ROOT))


def test_there_is_a_front_and_a_worker_unit() -> None:
    assert [u.name for u in UNITS] == [
        "notebook-host-front@.service",
        "notebook-host-worker@.service",
    ]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_units_verify(unit: Path, tmp_path: Path) -> None:
    text = unit.read_text()
    for needed in ("[Unit]", "[Service]", "[Install]", "User=", "EnvironmentFile=", *HARDENING):
        assert needed in text, needed
    checked = verify(tmp_path, installed_here(text), unit.name)
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    # the control: a misspelt key is reported
    broken = verify(tmp_path, installed_here(text).replace("ExecStart=", "ExecStrat="), unit.name)
    assert "ExecStrat" in broken.stderr


def test_front_unit_binds_loopback_with_proxy_headers() -> None:
    text = (DEPLOY / "systemd" / "notebook-host-front@.service").read_text()
    assert "-b 127.0.0.1 -p %i --proxy-headers" in text


def test_worker_unit_outlasts_its_drain() -> None:
    text = (DEPLOY / "systemd" / "notebook-host-worker@.service").read_text()
    drain = float(text.split("--drain-timeout ")[1].split()[0])
    stop = float(text.split("TimeoutStopSec=")[1].split()[0])
    assert stop > drain and "Type=notify" in text and "WatchdogSec=" in text


def nginx_test(folder: Path, site: Path) -> subprocess.CompletedProcess:
    conf = folder / "nginx.conf"
    conf.write_text(nginx.main_config(folder, site))
    return subprocess.run(
        [nginx.binary(), "-t", "-c", str(conf), "-p", str(folder), "-e", str(folder / "err.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    checked = nginx_test(tmp_path, nginx.SITE)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(nginx.SITE.read_text().replace("proxy_http_version", "proxy_http_versoin"))
    assert nginx_test(tmp_path, broken).returncode != 0  # the control


def test_redis_config_runs_without_eviction_or_persistence(tmp_path: Path) -> None:
    server = RedisServer(tmp_path).start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.info("memory")["maxmemory_policy"] == "noeviction"
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        # the password of the file is required (the tests give their own)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
    finally:
        server.remove()


def test_env_example_configures_the_demo(tmp_path: Path) -> None:
    """The example environment, read as systemd does, runs the demo's checks clean."""
    env = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    assert {"DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE", "NOTEBOOK_HOST_REDIS_URL"} <= set(env)
    env["DJANGO_SETTINGS_MODULE"] = "project.settings_cluster"  # the demo stands in for mysite
    env["DJANGO_SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
