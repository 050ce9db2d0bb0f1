"""Replay with local kernels on a real daphne: a lost kernel comes back as its viewer left it.

``/ttl0apps/`` serves a writable copy of faults.py with ``session_ttl=0``:
closing the tab's socket ends its kernel at once, while the tab keeps its
session id (as marimo's frontend does when it reconnects).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from devtools.folders import NOTEBOOKS
from devtools.live import LiveServer
from devtools.visitor import open_tab


async def test_lost_kernel_comes_back_with_its_values_unless_the_notebook_changed(
    live: LiveServer, anon
) -> None:
    file = Path(live.env["NOTEBOOK_HOST_TEST_APPS"]) / "replayed.py"
    shutil.copy(NOTEBOOKS / "faults.py", file)
    page = "/ttl0apps/replayed/"
    try:
        async with open_tab(live, anon, page, ready="knob is 0") as tab:
            sid = tab.session_id
            await tab.turn("knob", 7, "knob is 7")
        await asyncio.sleep(1.0)  # the kernel is gone (TTL 0); the values are kept
        async with open_tab(live, anon, page, session_id=sid, ready="knob is 7") as again:
            seen = json.dumps(again.kernel.messages)
            assert "Session restored" in seen
            # a restored kernel takes changes as before (and records them)
            await again.turn("knob", 9, "knob is 9")
        # the notebook changes while its kernel is gone: a fresh start, saying why
        file.write_text(file.read_text() + "\n# changed\n")
        await asyncio.sleep(1.0)
        async with open_tab(live, anon, page, session_id=sid, ready="knob is 0") as fresh:
            seen = json.dumps(fresh.kernel.messages)
            assert "the notebook has changed since" in seen
            assert "knob is 9" not in seen
    finally:
        file.unlink()
