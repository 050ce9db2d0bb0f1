"""The anchor of bench/compare/: the demo notebooks served by plain marimo.

    python -m devtools.plain_marimo --port 8001

marimo's own multi-notebook ASGI app (``marimo.create_asgi_app``, the
"Running the marimo backend programmatically" recipe) with the same two
notebooks notebook_host's demo serves, bench/notebooks/busy.py and
tests/notebooks/isolation.py (bench/isolation.py's notebook), under
uvicorn, with marimo's defaults (session TTL 120 s like the demo, no skew
protection, no auth, assets below each notebook's path).
``create_asgi_app`` needs pyzmq.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import marimo

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

if os.environ.get("BENCH_ENTRY_POINTS_ONCE") == "1":
    # bench/cluster.py's second anchor: plain marimo with notebook_host's one
    # patch that changes its speed (docs/performance.md), nothing else.
    from notebook_host.marimo.entry_points import look_up_entry_points_once

    look_up_entry_points_once()

app = (
    # bench/isolation.py shortens the session TTL to see memory come back.
    marimo.create_asgi_app(quiet=True, session_ttl=int(os.environ.get("BENCH_SESSION_TTL", "120")))
    .with_app(path="/dashboard", root=str(NOTEBOOKS / "dashboard.py"))
    .with_app(path="/whoami", root=str(NOTEBOOKS / "whoami.py"))
    .with_app(path="/busy", root=str(ROOT / "bench" / "notebooks" / "busy.py"))
    .with_app(path="/iso", root=str(ROOT / "tests" / "notebooks" / "isolation.py"))
    .build()
)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
