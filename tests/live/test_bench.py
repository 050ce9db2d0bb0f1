"""bench/compare/ in its smoke mode, so the benchmark cannot rot.

Runs ``python -m bench.compare --tiny`` (a real daphne, plain marimo under
uvicorn, headless Chromium) and checks it wrote figures for both servers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.live import ROOT

CHROMIUM = Path("/usr/bin/chromium")
SERVERS = ("notebook_host", "plain_marimo")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make chromium)")
@pytest.mark.timeout(300)
def test_tiny_benchmark_writes_both_servers_figures(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--tiny", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "notebook_host" in run.stdout and "plain marimo" in run.stdout
    assert "targets (notebook_host / plain marimo, medians)" in run.stdout

    written = sorted(tmp_path.glob("*.json"))
    assert len(written) == 1, written
    results = json.loads(written[0].read_text())
    assert (tmp_path / f"{written[0].stem}.png").stat().st_size > 0

    assert results["mode"] == "tiny"
    assert len(results["runs"]) == results["plan"]["runs"] == 2  # interleaved A B A B
    for server in SERVERS:
        figures = results["summary"][server]
        assert "slider_p50_ms" in figures and "n2_session_start_p50_ms" in figures, figures
        for key, figure in figures.items():
            values = [v for v in figure["runs"] if v is not None]
            assert len(values) == 2, (server, key, figure)
            assert figure["min"] <= figure["median"] <= figure["max"], (server, key, figure)
            if key.endswith("rss_per_session_mb"):
                continue  # with N=2 the RSS growth is within noise, even negative
            assert figure["median"] > 0, (server, key, figure)
        for run_ in results["runs"]:
            # Every concurrent session came up and every change was seen.
            for round_ in run_[server]["concurrency"]:
                assert round_["sessions_up"] == round_["sessions"], round_
                assert round_["success_rate"] == 1.0, round_
            assert run_[server]["bytes"]["dashboard"]["not_loopback"] == []
            assert run_[server]["slider"]["trace"]["moves"] > 0
    # The same notebook shows the same pixels on both (within antialiasing).
    assert results["screens"]["same_size"] and results["screens"]["differing_share"] < 0.0005
    assert {t["figure"] for t in results["targets"]} >= {"slider_p50_ms", "bytes_dashboard_cold"}
