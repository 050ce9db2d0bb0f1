"""The soak's plan (bench/soak.py), its command line and its verdicts.

``python -m bench.soak`` runs the load; tests/live/test_soak.py judges the
verdicts on made-up results. Both read the plan, the checks and the log
reading from here.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.live import ROOT

RESULTS_DIR = ROOT / "bench" / "results"
DESCRIPTION = "Load and soak test: simulated users open, use and close dashboard tabs for minutes."


@dataclass(frozen=True)
class Plan:
    """The load, its phases and its bounds (seconds unless named otherwise)."""

    users: int = 100  # simulated users = the most tabs live at once
    visit: float = 30.0  # a tab stays open this long (+-20 %)
    think: float = 5.0  # mean pause between a tab's widget changes
    warmup: float = 60.0
    duration: float = 300.0
    session_ttl: int = 5
    sample: float = 2.0  # /proc sampling interval
    open_timeout: float = 60.0  # page + socket + first outputs
    change_timeout: float = 30.0  # POST to its dependent output
    settle_timeout: float = 90.0  # after the TTL, for threads to come back
    rss_tolerance: float = 0.10
    seed: int = 0


FULL = Plan()
SHORT = Plan(
    users=8,
    visit=4.0,
    think=0.3,
    warmup=4.0,
    duration=10.0,
    session_ttl=1,
    sample=0.5,
    settle_timeout=30.0,
)


def traceback_texts(lines: list[str], most: int = 5) -> list[str]:
    """The first few tracebacks of a log, each with the line that announced it."""
    texts: list[str] = []
    for i, line in enumerate(lines):
        if "Traceback" not in line or len(texts) >= most:
            continue
        block = lines[max(0, i - 1) : i + 1]
        for following in lines[i + 1 : i + 60]:
            block.append(following)
            if following and not following.startswith((" ", "\t", "Traceback")):
                break  # the exception line ends the traceback
        texts.append("\n".join(block))
    return texts


ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}|-) ')


def log_problems(log: str) -> dict[str, Any]:
    """What the server log says: daphne's access log by status, and lines of trouble."""
    lines = log.splitlines()
    statuses: Counter[str] = Counter()
    fivexx: list[str] = []
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match:
            statuses[match["status"]] += 1
            if match["status"].startswith("5"):
                fivexx.append(line)
    killed = [line for line in lines if "took too long to shut down and was killed" in line]
    bad = [line for line in lines if "Traceback" in line or "Internal Server Error" in line]
    warnings = [line for line in lines if "WARNING" in line or "Warning:" in line]
    return {
        "access_log_statuses": dict(statuses),
        "access_log_5xx": len(fivexx),
        "tracebacks": sum("Traceback" in line for line in lines),
        "internal_server_errors": sum("Internal Server Error" in line for line in lines),
        # daphne cancels a consumer 10 s after its connection went away
        "consumers_killed": len(killed),
        # daphne refuses a handshake not accepted within websocket_connect_timeout
        "websocket_rejects": sum('"WSREJECT ' in line for line in lines),
        "first_problems": (fivexx + bad + killed)[:10],
        "traceback_texts": traceback_texts(lines),
        "warnings": warnings[:10],
    }


def checks(results: dict[str, Any], plan: Plan) -> dict[str, dict[str, Any]]:
    """Each requirement of the soak, with the figures it was judged on."""
    base, after, run, warm = (
        results["baseline"],
        results["after"],
        results["soak"],
        results["warmup"],
    )
    log = results["server_log"]
    clients_5xx = warm["responses_5xx"] + run["responses_5xx"]
    fivexx = clients_5xx + log["access_log_5xx"] + log["internal_server_errors"]
    server = after["server"]
    kernels = server["kernel_sessions"]
    objects = server["live_objects"]
    left_objects = {
        name: count
        for name, count in objects.items()
        if name in ("SessionImpl", "Kernel") and count
    }
    rss_limit = round(base["rss_mb"] * (1 + plan.rss_tolerance), 1)
    rss_change = round(100 * (after["rss_mb"] - base["rss_mb"]) / base["rss_mb"], 1)
    return {
        "no 5xx": {
            "ok": fivexx == 0,
            "detail": f"clients saw {clients_5xx}, daphne's access log {log['access_log_5xx']} "
            f"(of {sum(log['access_log_statuses'].values())} requests), "
            f"'Internal Server Error' logged {log['internal_server_errors']}",
        },
        "no errors": {
            "ok": warm["errors"] + run["errors"] == 0,
            "detail": f"warm-up {warm['errors']}, soak {run['errors']} "
            f"{run['errors_by_kind'] or ''}".strip(),
        },
        "no tracebacks in the server log": {
            "ok": log["tracebacks"] == 0,
            "detail": f"{log['tracebacks']}"
            + (
                f"; first ends: {log['traceback_texts'][0].splitlines()[-1]}"
                if log["tracebacks"]
                else ""
            ),
        },
        "every user served": {
            "ok": run["sessions_served"] >= plan.users and run["changes"] > 0,
            "detail": f"{run['sessions_served']} sessions served by {plan.users} users",
        },
        "threads back to baseline": {
            "ok": after["threads"] <= base["threads"],
            "detail": f"{after['threads']} after soak vs {base['threads']} after warm-up "
            + (
                f"(back {after['threads_back_after_s']} s after the load)"
                if after["threads"] <= base["threads"]
                else f"(still not back {after['threads_back_after_s']} s after the load)"
            ),
        },
        "no kernel left": {
            "ok": kernels == 0 and not left_objects,
            "detail": f"{kernels} kernel sessions, SessionImpl/Kernel objects alive: "
            f"{left_objects or 0}, {server['session_records']} session records",
        },
        "RSS within 10% of warm-up": {
            "ok": after["rss_mb"] <= rss_limit,
            "detail": f"{after['rss_mb']} MB after soak vs {base['rss_mb']} MB after warm-up "
            f"({rss_change:+.1f} %, limit {rss_limit} MB; "
            f"{after['rss_mb_after_trim']} MB after gc and malloc_trim)",
        },
    }


#: Plan figures that may be 0 (no warm-up, no pause, no session TTL, exact RSS).
ZERO_ALLOWED = frozenset({"warmup", "think", "session_ttl", "rss_tolerance"})


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Plan]:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=DESCRIPTION)
    parser.add_argument("--short", action="store_true", help="the ~40 s version make test runs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    for name in Plan.__dataclass_fields__:
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=type(getattr(FULL, name)),
            help=f"default {getattr(FULL, name)} ({getattr(SHORT, name)} with --short)",
        )
    args = parser.parse_args(argv)
    base = SHORT if args.short else FULL
    overrides = {
        k: getattr(args, k) for k in Plan.__dataclass_fields__ if getattr(args, k) is not None
    }
    plan = dataclasses.replace(base, **overrides)
    for name, value in dataclasses.asdict(plan).items():
        if name != "seed" and (value < 0 or (value == 0 and name not in ZERO_ALLOWED)):
            allowed = ">= 0" if name in ZERO_ALLOWED else "> 0"
            parser.error(f"--{name.replace('_', '-')} must be {allowed}, got {value}")
    return args, plan
