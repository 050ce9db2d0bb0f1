"""Readings of server processes from /proc: the process tree, CPU time, RSS, threads.

The benchmarks read the server from outside, as an operator would, so the
figures include everything the process holds (kernel threads, allocator).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any


def scan_processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU time in clock ticks) of every process, from /proc."""
    processes = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with (
                contextlib.suppress(OSError, ValueError, IndexError),
                open(f"/proc/{entry}/stat") as stat,
            ):
                fields = stat.read().rsplit(")", 1)[1].split()
                # after the name: state ppid ... utime(12) stime(13)
                processes[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return processes


def process_tree(pid: int, processes: dict[int, tuple[int, int]] | None = None) -> list[int]:
    """pid and its descendants."""
    children: dict[int, list[int]] = {}
    for child, (parent, _) in (processes or scan_processes()).items():
        children.setdefault(parent, []).append(child)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


class OtherLoad:
    """CPU time of processes outside this run, per phase: is the machine really ours?

    Every second a thread reads every process's CPU time from /proc; time used
    by processes that are not this process or its descendants (the servers,
    Playwright, Chromium) counts against the current phase. Processes first
    seen after the start count with all their CPU time.
    """

    def __init__(self, t0: float, interval: float = 1.0) -> None:
        self.t0 = t0
        self.interval = interval
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.phases: dict[str, dict[str, Any]] = {}
        self.current = ""
        self._last = {pid: cpu for pid, (_, cpu) in scan_processes().items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        processes = scan_processes()
        own = set(process_tree(os.getpid(), processes))
        phase = self.phases.get(self.current)
        for pid, (_, cpu) in processes.items():
            used = cpu - self._last.get(pid, 0)
            if pid in own or used <= 0 or phase is None:
                continue
            phase["other_cpu_s"] += used / self.ticks
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")[:60]
                phase["commands"][command] = phase["commands"].get(command, 0) + used / self.ticks
        self._last = {pid: cpu for pid, (_, cpu) in processes.items()}

    def phase(self, name: str) -> None:
        """Start the phase ``name`` (and print it)."""
        now = time.monotonic()
        if self.current:
            self.phases[self.current]["wall_s"] = now - self.phases[self.current]["start"]
        self.current = name
        self.phases[name] = {"start": now, "wall_s": 0.0, "other_cpu_s": 0.0, "commands": {}}
        print(f"[{now - self.t0:6.1f}s] {name}", flush=True)

    def __enter__(self) -> OtherLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()
        if self.current:
            self.phases[self.current]["wall_s"] = (
                time.monotonic() - self.phases[self.current]["start"]
            )

    def report(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, phase in self.phases.items():
            top = sorted(phase["commands"].items(), key=lambda item: -item[1])[:3]
            out[name] = {
                "wall_s": round(phase["wall_s"], 1),
                "other_cpu_s": round(phase["other_cpu_s"], 1),
                # share of one core that other processes used during the phase
                "other_cpu_pct": round(100 * phase["other_cpu_s"] / max(phase["wall_s"], 1e-9), 1),
                "top_other": [[command, round(seconds, 1)] for command, seconds in top],
            }
        return out


def proc_status(pid: int, keys: tuple[str, ...] = ("VmRSS", "Threads")) -> dict[str, int]:
    """Fields of /proc/<pid>/status (VmRSS in kB, Threads); 0 once the process is gone."""
    figures = dict.fromkeys(keys, 0)
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in figures:
                figures[key] = int(value.split()[0])
    return figures


def rss_kb(pids: list[int]) -> int:
    return sum(proc_status(pid)["VmRSS"] for pid in pids)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    processes = scan_processes()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(processes[p][1] for p in process_tree(pid, processes) if p in processes) / ticks
