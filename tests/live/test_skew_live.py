"""The skew-protection token is the same in every process (kernels in workers need it).

Two Python processes with different hash seeds render one notebook's page;
both pages carry the same token (marimo's own is ``hash()``: it would differ).
"""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.live import ROOT
from notebook_host.marimo.patches import skew_token

_PAGE_TOKEN = """
import asyncio, re, django
django.setup()
import httpx
from notebook_host.marimo.app import build_app
from notebook_host.targets.options import NotebookOptions
from pathlib import Path
app = build_app(Path("tests/notebooks/app1.py"), NotebookOptions.resolve({}), base_url="/app1")
async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/")
    print(re.search(r'data-token="([^"]*)"', page.text).group(1))
asyncio.run(main())
"""


def test_skew_token_is_the_same_in_every_process() -> None:
    """A page from one process carries the token another process checks."""
    tokens = set()
    for seed in ("1", "2"):
        env = {"PYTHONHASHSEED": seed, "DJANGO_SETTINGS_MODULE": "tests.projects.default.settings"}
        done = subprocess.run(
            [sys.executable, "-c", _PAGE_TOKEN],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        tokens.add(done.stdout.strip().splitlines()[-1])
    assert len(tokens) == 1, tokens
    assert len(next(iter(tokens))) == 64  # sha256 hex, not str(hash())
    assert skew_token("x") == skew_token("x") != skew_token("y")
