"""Threads compiling marimo cells at once: CPython gh-106905 on demand.

``python -m tests.support.ast_race --seconds 20 [--guard]`` starts four threads that
compile a notebook cell with marimo's compiler (``ast.parse``, then
``compile`` of the tree, as a kernel does) until the time is up or one of
them fails. A ``gc`` callback that sleeps for no time makes every garbage
collection, which the AST conversion triggers, a chance to switch threads:
on an affected interpreter the race then shows within seconds instead of
once in a thousand sessions. Prints one JSON line: the interpreter, whether
the guard was on, the compiles done (and per second), the errors seen.
``--plain`` leaves the switches out: the throughput of four kernels
compiling at once, with and without the guard.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import threading
import time

# The compile step of a kernel, as the guard must cover it (marimo private API,
# used here only to drive the boundary patch under test).
from marimo._ast.compiler import compile_cell

from notebook_host.marimo.patches import install_ast_guard

THREADS = 4
CELL = "\n".join(
    f"v{i} = [(a, {{b: c for b, c in zip(range(3), range(3))}}) for a in range({i}) if a > 1]"
    for i in range(60)
)


def race(seconds: float) -> tuple[int, list[str]]:
    """Compile CELL on THREADS threads until the time is up or one fails."""
    errors: list[str] = []
    done = [0] * THREADS
    deadline = time.monotonic() + seconds

    def work(n: int) -> None:
        while time.monotonic() < deadline and not errors:
            try:
                compile_cell(CELL, cell_id=f"c{n}_{done[n]}")
            except SystemError as exc:
                errors.append(repr(exc))
            done[n] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--guard", action="store_true", help="install the gh-106905 guard first")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no forced thread switches: a throughput figure (compiles/s) rather than a race",
    )
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    guarded = install_ast_guard() if args.guard else False
    if not args.plain:
        gc.callbacks.append(lambda phase, info: time.sleep(0))
    compiles, errors = race(args.seconds)
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "guard": guarded,
                "compiles": compiles,
                "per_second": round(compiles / args.seconds, 1),
                "errors": errors,
            }
        )
    )


if __name__ == "__main__":
    main()
