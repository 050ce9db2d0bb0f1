"""bench/soak.py: its short form on a real daphne, and the verdicts it gives.

Runs ``python -m bench.soak --short`` (its own daphne with a 1 s session TTL,
8 simulated users opening and closing dashboard tabs and moving the slider)
and checks what it measured: no 5xx, no client error, every user served, and
the server's thread count back to its idle baseline once the TTLs passed.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.live import ROOT
from devtools.soak_plan import SHORT, checks, log_problems, parse_args


@pytest.mark.timeout(120)
def test_short_soak_serves_everyone_and_returns_to_idle(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--short", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    output = run.stdout[-4000:] + run.stderr[-4000:]
    written = sorted(tmp_path.glob("soak-*-short.json"))
    assert len(written) == 1, output
    report = json.loads(written[0].read_text())
    soak, plan = report["soak"], report["plan"]

    assert soak["responses_5xx"] == 0, soak["responses_5xx_by_kind"]
    log = report["server_log"]
    assert log["access_log_5xx"] == 0 and log["internal_server_errors"] == 0, log
    assert log["access_log_statuses"]["200"] >= soak["changes"], log["access_log_statuses"]
    assert soak["errors"] == 0 and report["warmup"]["errors"] == 0, soak["error_samples"]
    # The load really ran: every user had whole tabs and moved the slider.
    assert soak["sessions_served"] >= plan["users"], soak
    assert soak["changes"] >= soak["sessions_served"], soak
    assert soak["peak_live_sessions"] >= 2, soak
    assert soak["latency_ms"]["change"]["n"] == soak["changes"]
    # Kernels were really started (threads grew), then all closed again.
    peak_threads = max(s["threads"] for s in report["timeline"] if s["phase"] == "soak")
    assert peak_threads > report["baseline"]["threads"] + soak["peak_live_sessions"]
    assert report["after"]["threads"] <= report["baseline"]["threads"], report["after"]
    assert report["checks"]["threads back to baseline"]["ok"]
    # The server's own view: no kernel session, no kernel object left.
    assert report["after"]["server"]["kernel_sessions"] == 0, report["after"]["server"]
    assert report["checks"]["no kernel left"]["ok"], report["checks"]["no kernel left"]
    # The exit status is the verdict of every check, RSS included.
    assert run.returncode == (0 if report["passed"] else 1), output
    assert run.returncode == 0, output


def _results(**changes: Any) -> dict[str, Any]:
    """A soak's results in the shape bench.soak.checks() judges, all passing."""
    phase = {"errors": 0, "errors_by_kind": {}, "responses_5xx": 0, "changes": 50}
    results = {
        "warmup": dict(phase),
        "soak": {**phase, "sessions_served": 20},
        "baseline": {"threads": 2, "rss_mb": 100.0},
        "after": {
            "threads": 2,
            "rss_mb": 105.0,
            "rss_mb_after_trim": 101.0,
            "threads_back_after_s": 2.0,
            "server": {
                "kernel_sessions": 0,
                "session_records": 3,
                "live_objects": {"SessionImpl": 0, "Kernel": 0, "MarimoApp": 1},
            },
        },
        "server_log": log_problems(ACCESS_200),
    }
    for path, value in changes.items():
        *parents, key = path.split("__")
        target = results
        for parent in parents:
            target = target[parent]
        target[key] = value
    return results


ACCESS_200 = '127.0.0.1:1 - - [22/Nov/2026:07:29:09] "POST /dashboard/api/kernel/x" 200 16\n'
ACCESS_500 = '127.0.0.1:2 - - [22/Nov/2026:07:29:10] "GET /dashboard/" 500 145\n'


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({}, set()),
        ({"soak__responses_5xx": 1}, {"no 5xx"}),
        ({"server_log": log_problems(ACCESS_200 + ACCESS_500)}, {"no 5xx"}),
        ({"warmup__errors": 1}, {"no errors"}),
        (
            {"server_log": log_problems(ACCESS_200 + "Traceback (most\n  x\nValueError: y\n")},
            {"no tracebacks in the server log"},
        ),
        ({"soak__sessions_served": 19}, {"every user served"}),
        ({"after__threads": 3}, {"threads back to baseline"}),
        ({"after__server__kernel_sessions": 1}, {"no kernel left"}),
        ({"after__server__live_objects": {"Kernel": 1}}, {"no kernel left"}),
        ({"after__rss_mb": 110.1}, {"RSS within 10% of warm-up"}),
    ],
)
def test_checks_fail_exactly_where_the_figures_say(
    changes: dict[str, Any], failing: set[str]
) -> None:
    plan = dataclasses.replace(SHORT, users=20)
    verdicts = checks(_results(**changes), plan)
    assert {name for name, verdict in verdicts.items() if not verdict["ok"]} == failing


def test_log_problems_reads_daphne_access_log() -> None:
    log = ACCESS_200 + ACCESS_500 + "Internal Server Error: /dashboard/\nTraceback (most recent)\n"
    problems = log_problems(log)
    assert problems["access_log_statuses"] == {"200": 1, "500": 1}
    assert problems["access_log_5xx"] == 1
    assert problems["internal_server_errors"] == 1 and problems["tracebacks"] == 1
    assert problems["first_problems"][0] == ACCESS_500.strip()
    assert problems["traceback_texts"] == [
        "Internal Server Error: /dashboard/\nTraceback (most recent)"
    ]


@pytest.mark.parametrize("argv", [["--users", "0"], ["--duration", "-5"], ["--visit", "0"]])
def test_bad_plan_is_refused_with_a_clear_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert f"{argv[0]} must be > 0" in capsys.readouterr().err


def test_options_override_the_short_plan() -> None:
    _, plan = parse_args(["--short", "--users", "3", "--think", "0"])
    assert plan == dataclasses.replace(SHORT, users=3, think=0.0)
