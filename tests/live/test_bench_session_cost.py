"""bench/session_cost.py at its smallest, so the benchmark cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.live import ROOT


@pytest.mark.timeout(200)
def test_one_small_run_gives_every_figure_beside_the_anchor(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.session_cost",
            *("--runs", "1", "--starts", "2", "--changes", "30", "--sessions", "2"),
            *("--targets", "daphne-python-gc", "--out", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (result,) = tmp_path.glob("*-session-cost.json")
    medians = json.loads(result.read_text())["median"]
    assert set(medians) == {"patched", "daphne-python-gc"}
    for figures in medians.values():
        assert set(figures) == {
            "CPU ms per start",
            "CPU ms per change",
            "CPU ms per session, 2 at once",
            "changes/s, 2 at once",
            "session start p50 ms, 2 at once",
        }
        assert all(value > 0 for value in figures.values()), figures
    assert "| CPU ms per start | " in run.stdout
