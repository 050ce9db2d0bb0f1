"""py-spy profiles of a benchmark's server processes, and what they say.

py-spy samples a running Python process from outside (no code change in
it); ``record`` keeps the raw stacks in a file while a block of the
benchmark runs, and the helpers below tell where the samples were.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

#: Stack parts by the file a frame comes from, checked in this order.
PARTS = (
    ("channels_redis", "channels_redis/"),
    ("redis-py", "/redis/"),
    ("msgpack", "msgpack"),
    ("daphne/twisted", "daphne/"),
    ("daphne/twisted", "twisted/"),
    ("django", "django/"),
    ("channels", "channels/"),
    ("marimo", "marimo/"),
    ("starlette/uvicorn", "starlette/"),
    ("starlette/uvicorn", "uvicorn/"),
    ("notebook_host", "notebook_host/"),
    ("asyncio", "asyncio/"),
)

SPY_ARGS = ("--rate", "500", "--nonblocking", "--format", "raw")


def executable() -> str:
    return shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


@contextlib.contextmanager
def record(pid: int, raw: Path) -> Iterator[Path]:
    """py-spy samples ``pid`` into ``raw`` while the block runs."""
    proc = subprocess.Popen(
        [executable(), "record", "--pid", str(pid), *SPY_ARGS, "--output", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches
    try:
        yield raw
    finally:
        proc.send_signal(2)  # py-spy writes its file on SIGINT
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def part_of(frame: str) -> str:
    for name, needle in PARTS:
        if needle in frame:
            return name
    return "other"


def _stacks(raw: Path) -> Iterator[tuple[list[str], int]]:
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if stack and number.isdigit():
            yield stack.split(";"), int(number)


def innermost_parts(raw: Path) -> Counter[str]:
    """Samples by the innermost stack part that is not "other" (py-spy's raw format)."""
    counts: Counter[str] = Counter()
    for frames, number in _stacks(raw):
        named = [p for p in (part_of(frame) for frame in frames) if p != "other"]
        counts[named[-1] if named else "other"] += number
    return counts


def leaves(raw: Path, top: int = 8, depth: int = 4) -> list[tuple[str, float]]:
    """Where most samples were: the innermost ``depth`` frames, with their share in %."""
    counts: Counter[str] = Counter()
    for frames, number in _stacks(raw):
        counts[" < ".join(reversed(frames[-depth:]))] += number
    total = sum(counts.values()) or 1
    return [(frame, round(100 * n / total, 1)) for frame, n in counts.most_common(top)]


def report(raw: Path) -> dict:
    """Shares by stack part and the top functions, JSON-ready."""
    if not raw.exists():
        return {"parts_percent": {}, "top_functions": []}
    counts = innermost_parts(raw)
    total = sum(counts.values()) or 1
    return {
        "samples": sum(counts.values()),
        "parts_percent": {k: round(100 * v / total, 1) for k, v in counts.most_common()},
        "top_functions": leaves(raw),
    }
