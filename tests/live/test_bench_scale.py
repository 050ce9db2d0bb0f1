"""bench/scale/ in its smoke mode, so the scale benchmark cannot rot.

Runs ``python -m bench.scale --tiny`` (a front and a worker on Redis, one
sticky plain + patch process, plain marimo) and checks every server kind
made all its changes and its figures were written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.live import ROOT

pytestmark = pytest.mark.cluster

KINDS = ("notebook_host", "plain_patch", "plain_marimo")


@pytest.mark.timeout(300)
def test_tiny_scale_benchmark_measures_every_server_kind(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (written,) = tmp_path.glob("*-scale-tiny.json")
    results = json.loads(written.read_text())["results"]
    assert tuple(results) == KINDS
    for kind, figures in results.items():
        assert figures["changes_per_s"] > 0, (kind, figures)
        assert figures["changes_ok"] == figures["changes_planned"], (kind, figures)
        assert figures["cpu_ms_per_change"]["total"] > 0, (kind, figures)
    assert set(results["notebook_host"]["cpu_s"]) == {"fronts", "workers", "redis"}
    # the printed table has a column per server kind
    header = next(line for line in run.stdout.splitlines() if line.startswith("| |"))
    assert header.count("|") == len(KINDS) + 2, header
    assert "changes/s" in run.stdout
