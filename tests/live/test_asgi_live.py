"""get_asgi_application(): start-up behaviour of the ASGI entry point."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.live import ROOT, free_port


def test_misconfigured_notebook_stops_daphne_at_startup() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.projects.misconfigured.settings"}
    port = str(free_port())
    proc = subprocess.run(
        [sys.executable, "-m", "daphne", "-p", port, "project.asgi:application"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "notebook('oops/'" in proc.stderr
    assert "unknown access value 'staf'" in proc.stderr
