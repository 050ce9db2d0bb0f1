"""A cluster for the live tests: a throwaway Redis, daphne fronts, notebook workers.

Every process has its own log; all share one SQLite file (sessions and users
must be the same on every front, as with a real shared database). Everything
is stopped afterwards, even when a test fails.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.live import ROOT, LiveServer, read_log, stop_process
from devtools.redis import RedisServer

SETTINGS = "tests.projects.cluster.settings"

#: Seconds a worker gets to announce itself.
WORKER_START_TIMEOUT = 60.0


@dataclass
class Front(LiveServer):
    """A daphne front: a LiveServer with its own log file."""

    name: str = "front"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"


@dataclass
class WorkerProcess:
    """``manage.py notebook_worker`` as a child process."""

    name: str
    env: dict[str, str]
    workdir: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "notebook_worker", "--name", self.name, *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited early:\n{self.log()}")
            if f"Worker {self.name} ready" in self.log()[offset:]:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} did not start:\n{self.log()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        return stop_process(self.proc, timeout)

    def log(self) -> str:
        return read_log(self.log_path)


class Cluster:
    """Redis plus fronts and workers, started on demand, all stopped by :meth:`stop`."""

    def __init__(
        self,
        workdir: Path,
        layer: str = "core",
        extra_env: dict | None = None,
        settings: str = SETTINGS,
        ready_path: str = "/plain/",
    ) -> None:
        """``settings`` and ``ready_path``: bench/scale.py runs the demo project instead."""
        self.workdir = workdir
        self.settings = settings
        self.ready_path = ready_path
        self.redis = RedisServer(workdir / "redis")
        (workdir / "redis").mkdir(parents=True, exist_ok=True)
        self.layer = layer
        self.extra_env = extra_env or {}
        self.fronts: list[Front] = []
        self.workers: list[WorkerProcess] = []

    def env(self) -> dict[str, str]:
        return {
            "NOTEBOOK_HOST_TEST_REDIS": self.redis.url,
            "NOTEBOOK_HOST_TEST_LAYER": self.layer,
            **self.extra_env,
        }

    def start(self, fronts: int = 2, workers: int = 2) -> Cluster:
        self.redis.start()
        for index in range(fronts):
            self.add_front(f"front{index + 1}")
        for index in range(workers):
            self.add_worker(f"worker{index + 1}")
        return self

    def add_front(self, name: str) -> Front:
        front = Front(
            self.workdir,
            settings=self.settings,
            env=self.env(),
            ready_path=self.ready_path,
            name=name,
        )
        if not self.fronts:
            front.prepare()
        self.fronts.append(front.start())
        return front

    def add_worker(self, name: str, *args: str) -> WorkerProcess:
        env = {**self.fronts[0].environ(), **self.env()} if self.fronts else self.env()
        worker = WorkerProcess(name, env, self.workdir, list(args))
        self.workers.append(worker.start())
        return worker

    def stop(self) -> None:
        for process in [*self.fronts, *self.workers]:
            try:
                process.stop(timeout=10)
            except Exception:  # keep stopping the others
                if process.proc is not None:
                    process.proc.kill()
        self.redis.stop()

    def logs(self) -> str:
        parts = [f"--- {p.name} ---\n{p.log()[-4000:]}" for p in [*self.fronts, *self.workers]]
        return "\n".join(parts)
