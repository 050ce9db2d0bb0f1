"""The plan of the side-by-side benchmark: how much to measure, where results go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devtools.browser import CHROMIUM_ARGS as TEST_CHROMIUM_ARGS

#: The first line of ``python -m bench.compare --help``.
DESCRIPTION = "notebook_host against plain marimo, side by side, on this machine."
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
#: Where the screenshots go (ignored by git): <server>.png for each, and diff.png.
SCREENS_DIR = RESULTS_DIR.parent.parent / "build" / "screens"


WHOAMI = "/whoami/"
HOST = "notebook_host"
PLAIN = "plain_marimo"
SERVERS = (HOST, PLAIN)

# The browser tests' Debian Chromium and flags (devtools/browser.py), and every
# request kept on the loopback: names other than localhost do not resolve (the
# servers are addressed as 127.0.0.1).
CHROMIUM_ARGS = [
    *TEST_CHROMIUM_ARGS,
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


@dataclass(frozen=True)
class Plan:
    """How much to measure; every loop below is bounded by these counts."""

    runs: int = 3  # interleaved runs of every figure (A B A B A B)
    loads: int = 5  # (cold, warm) dashboard loads per server and run
    slider_moves: int = 40
    posts: int = 60
    post_warmup: int = 5
    sessions: tuple[int, ...] = (100,)
    changes: int = 20  # widget changes per concurrent session
    profile: bool = False  # py-spy on each server during the slider phase
    # time bounds (seconds)
    page_timeout: float = 60
    change_timeout: float = 30
    round_timeout: float = 240


# Other processes using this share of one core during a phase earn a warning.
OTHER_LOAD_WARNING = 10.0

FULL = Plan()
TINY = Plan(runs=2, loads=1, slider_moves=3, posts=3, post_warmup=1, sessions=(2,), changes=3)
