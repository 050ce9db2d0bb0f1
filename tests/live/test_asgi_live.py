"""get_asgi_application(): start-up behaviour of the ASGI entry point."""

from __future__ import annotations

import os
import subprocess
import sys

from devtools.live import ROOT, free_port


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


def demo_check(**env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check`` on the demo project with only ``env`` set of its own variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "project.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_demo_runs_without_debug_and_never_with_the_insecure_key() -> None:
    refused = demo_check()  # DEBUG is off by default, and no key was given
    assert refused.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in refused.stderr
    # positive controls: a real key, or a debug run asked for
    assert demo_check(DJANGO_SECRET_KEY="k" * 50).returncode == 0
    debug = demo_check(DJANGO_DEBUG="1")
    assert debug.returncode == 0, debug.stderr[-2000:]
