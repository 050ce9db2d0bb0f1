"""The built package works outside this checkout.

``python -m build`` makes an sdist and a wheel; the wheel's metadata and
contents are checked, then it is installed (not editable) into a fresh
virtual environment with only its declared runtime dependencies (pip, from
the index this machine uses). A throwaway project made by that environment's
``django-admin startproject`` migrates, collects static files, passes
``check --deploy`` with warnings only from its own settings, and serves a
notebook under that environment's daphne, whose kernel socket answers
``kernel-ready`` and the notebook's output. Everything runs in a temporary
folder; daphne is stopped even on failure.
"""

from __future__ import annotations

import asyncio
import email
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
import websockets

from devtools.live import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 300
READY_TIMEOUT = 60.0
KERNEL_TIMEOUT = 60.0
OUTPUT = "hello from the wheel"
pytestmark = [pytest.mark.package, pytest.mark.timeout(900)]

NOTEBOOK = f'''import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo

    mo.md("{OUTPUT}")
    return


if __name__ == "__main__":
    app.run()
'''
SETTINGS = """
import os

INSTALLED_APPS = ["daphne", *INSTALLED_APPS, "channels", "notebook_host"]
ASGI_APPLICATION = "mysite.asgi.application"
LOGIN_URL = "/admin/login/"
DEBUG = False
SECRET_KEY = os.environ["SAMPLE_SECRET_KEY"]
ALLOWED_HOSTS = ["127.0.0.1"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "notebook_host.finders.MarimoAssetsFinder",
]
"""
URLS = """
from django.contrib import admin
from django.urls import include, path

from notebook_host.urls import notebook

urlpatterns = [
    path("admin/", admin.site.urls),
    path("notebooks/", include("notebook_host.urls")),
    notebook("hello/", "notebooks/hello.py", access="public"),
]
"""
ASGI = """
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

from notebook_host.asgi import get_asgi_application

application = get_asgi_application()
"""
# Left out of the wheel: this repository's tests, demo, benchmarks and tooling.
NOT_SHIPPED = ("tests/", "project/", "bench/", "devtools/", "notebooks/", "docs/")


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a step with a bound; fail with its output."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("notebook_host-*-py3-none-any.whl")
    return found


def test_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = email.message_from_bytes(archive.read(name))
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    classifiers = set(meta.get_all("Classifier"))
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert {"Framework :: Django", "Framework :: Django :: 5.2", "Typing :: Typed"} <= classifiers
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Documentation", "Source", "Changelog"} <= set(urls)
    requires = meta.get_all("Requires-Dist")
    assert "marimo==0.25.2" in requires
    runtime = [r for r in requires if "extra ==" not in r]
    assert all(re.search(r"[<>]=?|==", r) for r in runtime), runtime


def test_wheel_holds_templates_migrations_and_typing_but_no_repo_files(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "notebook_host/py.typed" in names
    assert "notebook_host/templates/notebook_host/error.html" in names
    assert "notebook_host/migrations/0001_initial.py" in names
    assert any(n.startswith("notebook_host/management/commands/") for n in names)
    assert not [n for n in names if n.startswith(NOT_SHIPPED)]


def test_sdist_leaves_out_tests_demo_and_bench(dist: Path) -> None:
    (sdist,) = dist.glob("notebook_host-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    assert "notebook_host/py.typed" in names and "LICENSE" in names
    assert not [n for n in names if n.startswith(NOT_SHIPPED)]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel and only its runtime dependencies."""
    env_dir = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(env_dir)])
    run([str(env_dir / "bin/python"), "-m", "pip", "install", "--quiet", str(wheel)])
    return env_dir


def test_installed_from_the_wheel_with_runtime_dependencies_only(venv: Path) -> None:
    python = str(venv / "bin/python")
    # Run from the environment's folder: from this checkout, the source would win.
    where = run([python, "-c", "import notebook_host; print(notebook_host.__file__)"], cwd=venv)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    installed = run([python, "-m", "pip", "list", "--format=json"], cwd=venv).stdout
    names = {p["name"].lower() for p in json.loads(installed)}
    assert {"notebook-host", "django", "channels", "daphne", "marimo"} <= names
    # Test tooling of this repo is not a runtime dependency.
    assert not names & {"pytest", "playwright", "servestatic", "pydantic", "psycopg"}


@pytest.fixture(scope="module")
def project(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    run([str(venv / "bin/django-admin"), "startproject", "mysite", str(root)])
    settings = root / "mysite/settings.py"
    settings.write_text(settings.read_text() + SETTINGS)
    (root / "mysite/urls.py").write_text(URLS)
    (root / "mysite/asgi.py").write_text(ASGI)
    (root / "notebooks").mkdir()
    (root / "notebooks/hello.py").write_text(NOTEBOOK)
    return root


def manage(venv: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SAMPLE_SECRET_KEY": "x" * 20 + os.urandom(24).hex()}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [str(venv / "bin/python"), "manage.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )


def test_migrate_collectstatic_and_check_deploy(venv: Path, project: Path) -> None:
    for args in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        result = manage(venv, project, *args)
        assert result.returncode == 0, result.stderr
    assert list((project / "staticfiles/marimo").glob("*/assets/*.js")), "marimo's frontend"
    result = manage(venv, project, "check", "--deploy")
    assert result.returncode == 0, result.stderr
    ids = re.findall(r"^\?: \((\S+)\)", result.stderr + result.stdout, re.M)
    assert ids, "the throwaway settings leave HTTPS off: Django's deploy checks must say so"
    assert all(i.startswith("security.W") for i in ids), ids


async def first_output(url: str, origin: str) -> tuple[dict, str]:
    """kernel-ready, then the first cell output, from a notebook's socket."""
    deadline = time.monotonic() + KERNEL_TIMEOUT
    ready: dict | None = None
    async with websockets.connect(
        url, additional_headers={"Origin": origin}, open_timeout=20
    ) as ws:
        while time.monotonic() < deadline:
            remaining = deadline - time.monotonic()
            message = json.loads(await asyncio.wait_for(ws.recv(), remaining))
            if message.get("op") == "kernel-ready":
                ready = message["data"]
            output = (message.get("data") or {}).get("output") or {}
            if ready is not None and OUTPUT in str(output.get("data", "")):
                return ready, str(output["data"])
    raise TimeoutError(f"no kernel-ready and output within {KERNEL_TIMEOUT:.0f} s")


def test_daphne_serves_the_notebook_and_its_kernel_socket(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    assert manage(venv, project, "migrate", "--noinput").returncode == 0
    port = free_port()
    env = {**os.environ, "SAMPLE_SECRET_KEY": "y" * 50}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log = (tmp_path / "daphne.log").open("wb")
    proc = subprocess.Popen(
        [str(venv / "bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "mysite.asgi:application"],
        cwd=project,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        html = wait_for_page(proc, f"{base}/hello/", tmp_path / "daphne.log")
        assert "marimo" in html and "/static/marimo/" in html
        ready, output = asyncio.run(
            first_output(f"ws://127.0.0.1:{port}/hello/ws?session_id=s_wheel1", base)
        )
        assert ready["cell_ids"], ready
        assert OUTPUT in output
    finally:
        stop_process(proc)
        log.close()


def wait_for_page(proc: subprocess.Popen, url: str, log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daphne exited {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"daphne did not serve {url} in {READY_TIMEOUT:.0f} s:\n{log.read_text()}")
