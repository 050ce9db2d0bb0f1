"""bench/isolation.py at its smallest, so the isolation benchmark cannot rot.

One interleaved run of "thread", "process" and plain marimo with two
sessions, four opened and closed, three changes and three tabs changing at
once: every figure of the table comes out as a number for all three.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.live import ROOT

FIGURES = (
    "open -> first output p50 (ms)",
    "change round trip p50 (ms)",
    "PSS per idle session (MiB)",
    "tree RSS after/before 4 sessions",
    "change p50 beside a busy loop / alone",
    "changes/s, 3 tabs x 10 changes at once",
    "changes failed of those",
)


@pytest.mark.timeout(300)
def test_one_small_run_gives_every_figure_for_every_mode(tmp_path: Path) -> None:
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
            "--churn",
            "4",
            "--out",
            str(tmp_path),
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
    header = rows.pop("figure (median of 1 interleaved runs)")
    assert header == ["thread", "process", "plain_marimo"], run.stdout
    for figure in FIGURES:
        assert figure in rows, run.stdout
        assert all(re.fullmatch(r"\d+\.\d\d", value) for value in rows[figure]), rows
    assert len(list(tmp_path.glob("*-isolation.json"))) == 1
