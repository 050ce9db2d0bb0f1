"""The README's screenshot: the demo as ``make serve`` runs it, in headless Chromium.

``python -m project.screenshot docs/img/demo.png`` migrates a throwaway
SQLite file, creates the demo users, starts daphne on a free port, signs in
as alice, opens the dashboard, moves its slider and saves the page. daphne
is stopped afterwards, even on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.async_api import async_playwright, expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
READY_TIMEOUT = 60.0
PAGE_TIMEOUT_MS = 60_000


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str) -> None:
    """Poll ``url`` until daphne answers; fail fast if it died."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daphne exited with {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"daphne did not answer {url} within {READY_TIMEOUT:.0f} s")


async def shoot(base: str, out: Path) -> None:
    """Sign in as alice, open the dashboard, move the slider, save the page."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            page = await browser.new_page(viewport={"width": 860, "height": 360})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            await page.goto(f"{base}/accounts/login/?next=/dashboard/")
            await page.fill("input[name=username]", "alice")
            await page.fill("input[name=password]", "alice-demo")
            await page.click("[type=submit]")
            await page.wait_for_url(f"{base}/dashboard/")
            slider = page.get_by_role("slider")
            await expect(slider).to_be_visible(timeout=PAGE_TIMEOUT_MS)
            await slider.focus()
            for _ in range(14):
                await page.keyboard.press("ArrowRight")
            await expect(page.locator("svg#chart[data-points='24']")).to_be_visible(
                timeout=PAGE_TIMEOUT_MS
            )
            await page.wait_for_timeout(500)
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out))
        finally:
            await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="PNG file to write")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="notebook-host-shot-") as tmp:
        env = {
            "DJANGO_DEBUG": "1",
            **os.environ,
            "DJANGO_SQLITE_PATH": str(Path(tmp) / "db.sqlite3"),
        }
        env["DJANGO_MEDIA_ROOT"] = str(Path(tmp) / "media")
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        demo = "from project.demo import create_demo_users; create_demo_users()"
        subprocess.run(
            [*manage, "shell", "-v0", "-c", demo],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = free_port()
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        with (Path(tmp) / "daphne.log").open("wb") as log:
            proc = subprocess.Popen(
                [*daphne, "--websocket_connect_timeout", "30", "project.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                wait_ready(proc, f"{base}/accounts/login/")
                asyncio.run(shoot(base, args.out))
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
