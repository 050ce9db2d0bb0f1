"""bench/isolation.py at its smallest, so the isolation benchmark cannot rot.

One interleaved run of "thread" and "process" with two sessions, three
changes and three tabs changing at once: every figure of the table comes
out as a number for both modes.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from devtools.live import ROOT

FIGURES = (
    "open -> first output p50 (ms)",
    "change round trip p50 (ms)",
    "PSS per idle session (MiB)",
    "tree RSS after/before sessions",
    "change p50 beside a busy loop / alone",
    "changes/s, 3 tabs x 10 changes at once",
)


@pytest.mark.timeout(300)
def test_one_small_run_gives_every_figure_for_both_modes() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.isolation",
            "--runs",
            "1",
            "--sessions",
            "2",
            "--changes",
            "3",
            "--many",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = {
        cells[0]: cells[1:]
        for line in run.stdout.splitlines()
        if line.startswith("| ")
        and len(cells := [c.strip() for c in line.strip("|").split("|")]) == 4
    }
    for figure in FIGURES:
        assert figure in rows, run.stdout
        thread, process, _ratio = rows[figure]
        assert re.fullmatch(r"\d+\.\d\d", thread) and re.fullmatch(r"\d+\.\d\d", process), rows
