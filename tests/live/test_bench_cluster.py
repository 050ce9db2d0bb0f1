"""bench/cluster.py in its smoke mode, so the cluster benchmark cannot rot.

Runs ``python -m bench.cluster --tiny`` (plain marimo, with and without the
entry-point patch, local kernels, and a real cluster with 1 and 2 workers
behind nginx) and checks every target's sessions all worked and its figures
were written, the busy-loop ones included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.live import ROOT

pytestmark = pytest.mark.cluster

TARGETS = ("plain_marimo", "plain_marimo_patched", "local_kernels", "workers_1", "workers_2")


@pytest.mark.timeout(400)
def test_tiny_cluster_benchmark_measures_every_target(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.cluster", "--tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=380,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (written,) = tmp_path.glob("*-cluster-pubsub-tiny.json")
    report = json.loads(written.read_text())
    assert set(report["summary"]) == set(TARGETS)
    for name in TARGETS:
        figures = report["summary"][name]
        assert figures["n2_success_rate"] == 1.0, (name, figures)
        assert figures["post_p50_ms"] > 0 and figures["slider_p50_ms"] > 0, (name, figures)
        busy = report["results"][name]["busy"]
        assert busy["busy_ms"]["p50"] > 0 and busy["measured_while_spinning"], (name, busy)
    # with 2 workers the spinning session went to the other worker
    two = report["results"]["workers_2"]["busy"]
    assert two["probe_worker"] and two["busy_worker"] not in ("", two["probe_worker"]), two
    # a worker killed under its tabs: each came back with its value (replay)
    kill = report["results"]["workers_2"]["kill"]
    assert kill["sessions"] >= 1 and kill["restored_ms"]["p50"] > 0, kill
    assert report["summary"]["workers_2"]["kill_restored_p95_ms"] > 0
    assert all(code == 0 for code in report["results"]["exit_codes"].values())
