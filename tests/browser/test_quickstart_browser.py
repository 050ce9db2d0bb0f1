"""docs/installation.md's quick start, built as written and visited in Chromium.

The blocks marked ``<!-- quickstart: ... -->`` are read from the page, in
order: shell blocks run line by line in a temporary folder (``django-admin``
and ``python`` as this interpreter, whose environment has this checkout
installed; ``createsuperuser`` without prompts; ``daphne`` started on a free
port), file blocks are written (or appended) where they say. Then a browser
opens the signed-in notebook and must see the user in it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect

import notebook_host
from devtools.live import free_port, read_log, stop_process, wait_ready

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "installation.md"
BLOCK = re.compile(
    r"<!-- quickstart: ([^>]+?) -->\n(?:<!-- run: [a-z-]+ -->\n)?```\w*\n(.*?)\n```", re.S
)
USER, PASSWORD = "alice", "quick-start-pw-1"
STEP_TIMEOUT = 120


@dataclass
class QuickStart:
    folder: Path
    url: str


def blocks() -> list[tuple[str, str]]:
    found = BLOCK.findall(PAGE.read_text())
    assert found, "docs/installation.md marks no quick start blocks"
    return found


def command(line: str, port: int) -> list[str]:
    """A shell line of the page as this test runs it."""
    words = shlex.split(line, comments=True)
    if words[0] == "django-admin":
        return [sys.executable, "-m", "django", *words[1:]]
    if words[0] == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *words[1:]]
    if words[0] == "python":
        words = [sys.executable, *words[1:]]
        if words[-1] == "createsuperuser":
            words += ["--noinput", "--username", USER, "--email", f"{USER}@example.com"]
    return words


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickStart]:
    # The library the site gets is this checkout (installed editable in this environment).
    assert Path(notebook_host.__file__).resolve().is_relative_to(ROOT)
    cwd = tmp_path_factory.mktemp("quickstart")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "NOTEBOOK_HOST"))
    }
    env |= {"DJANGO_SUPERUSER_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    server: subprocess.Popen | None = None
    log = cwd / "daphne.log"
    try:
        for target, code in blocks():
            if target != "shell":
                name, _, mode = target.partition(" ")
                path = cwd / name
                path.parent.mkdir(parents=True, exist_ok=True)
                text = (path.read_text() if mode == "append" else "") + code + "\n"
                path.write_text(text)
                continue
            for line in code.splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                argv = command(line, port)
                if argv[0] == "cd":
                    cwd = cwd / argv[1]
                elif "daphne" in argv:
                    server = subprocess.Popen(
                        argv, cwd=cwd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
                    )
                else:
                    done = subprocess.run(
                        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT
                    )
                    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        assert server is not None, "the quick start starts no server"
        url = f"http://127.0.0.1:{port}"
        wait_ready(server, url + "/accounts/login/", "daphne", lambda: read_log(log), timeout=60)
        yield QuickStart(cwd, url)
    finally:
        stop_process(server)


async def test_a_new_site_reaches_a_signed_in_notebook(
    context: BrowserContext, quickstart: QuickStart
) -> None:
    page = await context.new_page()
    await page.goto(quickstart.url + "/")
    await expect(page.get_by_role("heading", name="Welcome")).to_be_visible()  # public

    await page.goto(quickstart.url + "/dashboard/")
    await expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/dashboard/"))
    await page.get_by_label("Username").fill(USER)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(quickstart.url + "/dashboard/")
    await expect(page.get_by_role("heading", name=f"Hello, {USER}!")).to_be_visible()
